//! Thousands of random payments, refunds, settlements and payout events (replays among them) across
//! several merchants, checked against a model built only from the fee rule of SPEC §3: afterwards
//! the trial balance is zero, every balance is the sum of its postings, and every merchant account
//! holds exactly what the model predicts. `LEDGER_SEED=n` replays a run.
use domain::{
    Amount, FeeSplit, MerchantId, OrderId, Rate, Rates,
    calendar::BusinessCalendar,
    ledger::AccountKind::{self, *},
};
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use diesel::PgConnection;
use ledger::{
    Booked,
    bookings::{self, Payout},
    settlement::{self, Policy},
};
use orders::{
    OrderError,
    lifecycle::{self, PaymentReport},
    refund::Refunded,
};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::json;
use storage::{ledger as rows, testing::TestDatabase};

use crate::support::{self, Shop};

const OPERATIONS: usize = 3_000;
const RATE_SETS: [[&str; 3]; 5] = [
    ["0.00030", "0.00200", "0.00100"],
    ["0.00380", "0.00600", "0"],
    ["0.00250", "0.00300", "0.00150"],
    ["0", "0", "0"],
    ["0.00550", "0.00220", "0.00005"],
];

struct Merchant {
    shop: Shop,
    rates: Rates,
    /// What every account should hold, from the fee rule alone.
    expected: BTreeMap<AccountKind, i64>,
}

impl Merchant {
    fn add(&mut self, kind: AccountKind, fen: i64) {
        *self.expected.entry(kind).or_insert(0) += fen;
    }
}

struct PaidOrder {
    merchant: usize,
    id: OrderId,
    trade_no: String,
    unrefunded_fen: i64,
}

struct DoneRefund {
    order_id: OrderId,
    out_refund_no: String,
    amount_fen: i64,
}

#[derive(Clone, Copy, PartialEq)]
enum PayoutState {
    Reserved,
    Succeeded,
    Finished,
}

struct PayoutRecord {
    payout: Payout,
    merchant: usize,
    state: PayoutState,
}

struct World {
    rng: StdRng,
    now: DateTime<Utc>,
    calendar: BusinessCalendar,
    merchants: Vec<Merchant>,
    orders: Vec<PaidOrder>,
    refunds: Vec<DoneRefund>,
    payouts: Vec<PayoutRecord>,
    refused_refunds: usize,
    /// Payments refused for a settled day, then booked on retry.
    late_payments: usize,
    /// What payouts that succeeded took out of the merchants' in-transit accounts.
    paid_out_fen: i64,
}

#[test]
fn random_operations_keep_every_invariant_and_match_the_fee_rule() {
    let seed = std::env::var("LEDGER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("LEDGER_SEED={seed}");
    let database = TestDatabase::new();
    let conn = &mut database.connection();
    let mut world = World {
        rng: StdRng::seed_from_u64(seed),
        now: Utc::now() - Duration::days(30),
        calendar: BusinessCalendar::default(),
        merchants: Vec::new(),
        orders: Vec::new(),
        refunds: Vec::new(),
        payouts: Vec::new(),
        refused_refunds: 0,
        late_payments: 0,
        paid_out_fen: 0,
    };
    for (index, rates) in RATE_SETS.iter().enumerate() {
        let parsed = Rates::new(rate(rates[0]), rate(rates[1]), rate(rates[2])).expect("rates");
        let shop = support::shop(conn, &format!("r{index}"), Some(*rates));
        world.merchants.push(Merchant { shop, rates: parsed, expected: BTreeMap::new() });
    }
    for step in 0..OPERATIONS {
        // The clock runs: about two weeks over the whole run.
        world.now += Duration::minutes(world.rng.gen_range(0..15));
        match world.rng.gen_range(0..100) {
            0..=34 => world.pay(conn, step),
            35..=54 => world.refund(conn, step),
            55..=59 => world.replay_refund(conn),
            60..=62 => world.replay_payment(conn),
            63..=72 => world.settle(conn),
            73..=82 => world.reserve_payout(conn),
            83..=94 => world.finish_payout(conn),
            _ => world.replay_payout(conn),
        }
        // The job folds a few noted entries now and then, more slowly than they come, so the
        // figures are read with some entries folded and others not.
        if world.rng.gen_range(0..10) == 0 {
            storage::ledger_rollups::fold(conn, world.rng.gen_range(1..=10)).expect("a fold");
        }
    }
    support::assert_ledger_sound(conn);
    // What readers read, the folded rows with the entries not folded yet, is what the ledger says.
    let unfolded = unfolded_entries(conn);
    assert!(unfolded > 0, "seed {seed}: some entries are not folded");
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
    commission_by_merchant_is_the_ledger_s(conn, &mut world, seed);
    assert_eq!(ledger::rollups::fold(conn).expect("folded"), unfolded as usize);
    assert_eq!(unfolded_entries(conn), 0);
    // Once everything is folded, the rows folded bit by bit are those rebuilt from the ledger.
    let kept = support::rollup_rows(conn);
    assert!(kept.len() > 50, "seed {seed}: rollups kept: {}", kept.len());
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
    commission_by_merchant_is_the_ledger_s(conn, &mut world, seed);
    let paid_out_fen = support::count(conn, "SELECT sum(paid_out_fen)::bigint AS count FROM ledger_merchant_days");
    assert!(world.paid_out_fen > 0, "seed {seed}: some payouts succeeded");
    assert_eq!(paid_out_fen, world.paid_out_fen, "seed {seed}: paid out");
    let rebuilt = ledger::rollups::rebuild(conn).expect("rebuilt");
    assert_eq!(rebuilt.ledger_rows + rebuilt.week_rows + rebuilt.order_rows, kept.len());
    assert_eq!(support::rollup_rows(conn), kept, "seed {seed}: incremental = rebuilt");
    for merchant in &world.merchants {
        let actual = support::balances(conn, merchant.shop.merchant_id);
        for kind in AccountKind::ALL {
            let expected = merchant.expected.get(&kind).copied().unwrap_or(0);
            assert_eq!(actual[&kind], expected, "seed {seed}: {kind} of merchant {}", merchant.shop.merchant_id);
        }
    }
    statements_page_through_the_whole_history(conn, &world, seed);
    exports_read_copied_days_as_the_ledger(conn, &world, seed);
    final_days_are_summed_and_a_late_booking_unsums_its_day(conn, &world, seed);
    let settled = support::count(conn, "SELECT count(*) AS count FROM ledger_entries WHERE kind = 'settlement'");
    let finished = world.payouts.iter().filter(|p| p.state != PayoutState::Reserved).count();
    assert!(world.orders.len() > 500 && world.refunds.len() > 200, "seed {seed}: the mix ran");
    assert!(settled > 10 && finished > 20, "seed {seed}: settled {settled}, payouts finished {finished}");
    assert!(world.late_payments > 0, "seed {seed}: some callbacks came for settled days");
    eprintln!(
        "orders {} ({} late for a settled day), refunds {} (+{} refused), settlements {settled}, payouts {}",
        world.orders.len(),
        world.late_payments,
        world.refunds.len(),
        world.refused_refunds,
        world.payouts.len()
    );
}

/// Every merchant's statement over the whole run, read in small pages: the running balance carries
/// from page to page, the pages hold exactly the movements the totals count, and the last ends at
/// the closing balance, which is the balance now.
fn statements_page_through_the_whole_history(conn: &mut PgConnection, world: &World, seed: u64) {
    use ledger::reports::{DateRange, MovementPage, statement};
    let today = world.calendar.date_of(world.now);
    let range = DateRange::ending(today, 40).expect("range");
    for merchant in &world.merchants {
        let merchant_id = merchant.shop.merchant_id;
        let mut page = MovementPage { after_id: None, limit: 37 };
        let mut running: std::collections::BTreeMap<AccountKind, i64> = BTreeMap::new();
        let mut seen = 0_i64;
        loop {
            let found = statement(conn, merchant_id, range, page).expect("statement");
            for account in &found.accounts {
                running.entry(account.kind).or_insert(account.opening_fen.fen());
                assert_eq!(account.opening_fen.fen(), 0, "seed {seed}: nothing before the run");
            }
            for movement in &found.movements {
                let balance = running.get_mut(&movement.account).expect("a statement account");
                let change = movement.credit_fen().fen() - movement.debit_fen().fen();
                *balance += change;
                assert_eq!(*balance, movement.balance_after_fen.fen(), "seed {seed}: carried across pages");
            }
            seen += found.movements.len() as i64;
            assert!(found.balances_agree(), "seed {seed}: merchant {merchant_id}");
            match found.next_after_id {
                Some(after_id) => page.after_id = Some(after_id),
                None => {
                    let counted: i64 = found.accounts.iter().map(|account| account.movement_count).sum();
                    assert_eq!(seen, counted, "seed {seed}: every movement once");
                    for account in &found.accounts {
                        let now = support::balance(conn, merchant_id, account.kind);
                        assert_eq!(
                            account.closing_fen.fen(),
                            now,
                            "seed {seed}: {} closes at its balance",
                            account.kind
                        );
                    }
                    break;
                }
            }
        }
        assert!(seen > 37, "seed {seed}: more than one page for merchant {merchant_id}");
    }
}

/// Every merchant's whole statement exported (one read, not pages) is the same before and after
/// its settled days' lines are copied, and the copies are what the ledger says.
fn exports_read_copied_days_as_the_ledger(conn: &mut PgConnection, world: &World, seed: u64) {
    use ledger::reports::{DateRange, MovementPage, statement};
    let range = DateRange::ending(world.calendar.date_of(world.now), 40).expect("range");
    let exports = |conn: &mut PgConnection| -> Vec<String> {
        let merchants = world.merchants.iter().map(|merchant| merchant.shop.merchant_id);
        merchants.map(|id| format!("{:?}", exported(conn, id, range))).collect()
    };
    let before = exports(conn);
    // As the pages read it, from the ledger.
    let whole = MovementPage { after_id: None, limit: 100_000 };
    for (merchant, export) in world.merchants.iter().zip(&before) {
        let paged = statement(conn, merchant.shop.merchant_id, range, whole).expect("statement").movements;
        assert_eq!(&format!("{paged:?}"), export, "seed {seed}: the export is the statement's pages");
    }
    let copied = ledger::rollups::copy_settled_statement_days(conn, &world.calendar, world.now).expect("copied");
    assert!(copied > 10, "seed {seed}: merchant-days copied: {copied}");
    let days_with_lines = support::count(conn, "SELECT count(*) AS count FROM ledger_statement_days WHERE lines <> ''");
    assert!(days_with_lines > 10, "seed {seed}: merchant-days with lines copied: {days_with_lines}");
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
    assert_eq!(exports(conn), before, "seed {seed}: the exports read the copies as the ledger");
    a_changed_copy_is_found(conn, seed);
    // An export held to fewer movements than its period has: their first ones, and incomplete.
    let merchant_id = world.merchants[0].shop.merchant_id;
    let whole = exported(conn, merchant_id, range);
    let held = first_exported(conn, merchant_id, range, 5);
    assert_eq!(format!("{held:?}"), format!("{:?}", &whole[..5.min(whole.len())]), "seed {seed}: held to 5");
    let again = ledger::rollups::copy_settled_statement_days(conn, &world.calendar, world.now).expect("again");
    assert_eq!(again, 0, "seed {seed}: a day is copied once");
}

/// A copy with a changed byte, one cut short and one with its lines twice are each a difference.
fn a_changed_copy_is_found(conn: &mut PgConnection, seed: u64) {
    use diesel::{RunQueryDsl, sql_query};
    let day = "(SELECT merchant_id, business_date FROM ledger_statement_days WHERE lines <> ''
                 ORDER BY merchant_id, business_date LIMIT 1)";
    let changes = [
        "set_byte(lines, 20, get_byte(lines, 20) # 1)",
        "substring(lines FROM 1 FOR octet_length(lines) - 1)",
        "lines || lines",
    ];
    for change in changes {
        sql_query(format!(
            "UPDATE ledger_statement_days SET lines = {change} WHERE (merchant_id, business_date) = {day}"
        ))
        .execute(conn)
        .expect("changed");
        let found = ledger::rollups::differences(conn, 10).expect("compared");
        assert_eq!(found.len(), 1, "seed {seed}: {change}: {found:?}");
        sql_query(format!(
            "UPDATE ledger_statement_days c
                SET lines = (SELECT string_agg(l.line, '' ORDER BY l.entry_id, l.posting_id)
                               FROM ledger_statement_lines_packed l
                              WHERE (l.merchant_id, l.business_date) = (c.merchant_id, c.business_date))
              WHERE (c.merchant_id, c.business_date) = {day}"
        ))
        .execute(conn)
        .expect("mended");
    }
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}: mended");
}

/// A merchant's whole statement as an export reads it: complete, adding up, its movements in order.
fn exported(
    conn: &mut PgConnection,
    merchant_id: domain::MerchantId,
    range: ledger::reports::DateRange,
) -> Vec<ledger::reports::Movement> {
    let (movements, complete) = export_at_most(conn, merchant_id, range, 100_000);
    assert!(complete, "merchant {merchant_id}");
    movements
}

/// The first `max` movements of a merchant's export, when the period has more than `max`.
fn first_exported(
    conn: &mut PgConnection,
    merchant_id: domain::MerchantId,
    range: ledger::reports::DateRange,
    max: usize,
) -> Vec<ledger::reports::Movement> {
    let (movements, complete) = export_at_most(conn, merchant_id, range, max);
    assert!(!complete, "merchant {merchant_id}: more than {max} movements");
    movements
}

/// A merchant's export held to `max` movements: what it wrote, and whether that was all.
fn export_at_most(
    conn: &mut PgConnection,
    merchant_id: domain::MerchantId,
    range: ledger::reports::DateRange,
    max: usize,
) -> (Vec<ledger::reports::Movement>, bool) {
    use ledger::reports::{Movement, StatementAccount, StatementSink, export_statement};
    struct Kept(Vec<Movement>);
    impl StatementSink for Kept {
        fn accounts(&mut self, _: &[StatementAccount]) {}
        fn movement(&mut self, movement: Movement) {
            self.0.push(movement);
        }
    }
    let mut kept = Kept(Vec::new());
    let statement = export_statement(conn, merchant_id, range, max, &mut kept).expect("export");
    if statement.is_complete() {
        assert!(statement.balances_agree(), "merchant {merchant_id}: a whole export adds up");
    }
    (kept.0, statement.is_complete())
}

/// Commission by merchant over the whole history and random ranges (with whole weeks and
/// without, ending on any weekday), as the console reads it (week rows, the ragged ends' day rows,
/// entries not folded yet), is what the ledger says.
fn commission_by_merchant_is_the_ledger_s(conn: &mut PgConnection, world: &mut World, seed: u64) {
    use diesel::{
        QueryableByName, RunQueryDsl,
        sql_types::{BigInt, Date},
    };
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Span {
        #[diesel(sql_type = Date)]
        first: chrono::NaiveDate,
        #[diesel(sql_type = Date)]
        last: chrono::NaiveDate,
    }
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Earned {
        #[diesel(sql_type = BigInt)]
        merchant_id: i64,
        #[diesel(sql_type = BigInt)]
        debit_fen: i64,
        #[diesel(sql_type = BigInt)]
        credit_fen: i64,
    }
    let span: Span =
        diesel::sql_query("SELECT min(business_date) AS first, max(business_date) AS last FROM ledger_entries")
            .get_result(conn)
            .expect("the ledger's days");
    let days = (span.last - span.first).num_days();
    assert!(days > 8, "seed {seed}: the history spans {days} days");
    let mut ranges = vec![(span.first, span.last)];
    for _ in 0..12 {
        let from = span.first + Duration::days(world.rng.gen_range(-3..=days));
        ranges.push((from, from + Duration::days(world.rng.gen_range(0..=days))));
    }
    for (from, to) in ranges {
        let mut read: Vec<Earned> = storage::ledger_reports::commission_by_merchant(conn, from, to, 1_000)
            .expect("read")
            .into_iter()
            .map(|row| Earned {
                merchant_id: row.merchant_id.get(),
                debit_fen: row.debit_fen.fen(),
                credit_fen: row.credit_fen.fen(),
            })
            .collect();
        read.sort_by_key(|row| row.merchant_id);
        let derived: Vec<Earned> = diesel::sql_query(
            "SELECT merchant_id, sum(commission_debit_fen)::bigint AS debit_fen,
                    sum(commission_credit_fen)::bigint AS credit_fen
               FROM ledger_merchant_days_from_ledger WHERE business_date BETWEEN $1 AND $2
              GROUP BY 1 HAVING sum(commission_debit_fen) <> 0 OR sum(commission_credit_fen) <> 0 ORDER BY 1",
        )
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .load(conn)
        .expect("derived");
        assert_eq!(read, derived, "seed {seed}: commission by merchant from {from} to {to}");
    }
}

fn unfolded_entries(conn: &mut PgConnection) -> i64 {
    support::count(conn, "SELECT count(*) AS count FROM ledger_unfolded_entries")
}

/// The platform's figures of `day` as the console reads them (summaries, folded rows and entries
/// not folded yet), and as the ledger says: (paid orders, volume, commission).
fn day_read_and_derived(conn: &mut PgConnection, day: chrono::NaiveDate) -> (Vec<[i64; 3]>, Vec<[i64; 3]>) {
    use diesel::RunQueryDsl;
    let figures = |rows: Vec<storage::ledger::DailyFigures>| {
        rows.iter().map(|row| [row.paid_orders, row.volume_fen.fen(), row.commission_fen.fen()]).collect()
    };
    let read = storage::ledger::daily_figures(conn, day, day).expect("read");
    let derived = diesel::sql_query(
        "SELECT business_date, sum(paid_orders)::bigint AS paid_orders, sum(paid_fen)::bigint AS volume_fen,
                sum(commission_credit_fen - commission_debit_fen)::bigint AS commission_fen
           FROM ledger_merchant_days_from_ledger WHERE business_date = $1 GROUP BY 1",
    )
    .bind::<diesel::sql_types::Date, _>(day)
    .load(conn)
    .expect("derived");
    (figures(read), figures(derived))
}

/// The platform's final days are summed once, equal to their merchants' rows; a booking for a
/// summed day is read with the day's merchants at once, and takes its summary away when it is
/// folded (the day is read from the merchants' rows again) until the next pass sums it again.
fn final_days_are_summed_and_a_late_booking_unsums_its_day(conn: &mut PgConnection, world: &World, seed: u64) {
    use diesel::RunQueryDsl;
    let summed = ledger::rollups::summarize_final_days(conn, &world.calendar, world.now).expect("summed");
    assert!(summed.len() > 3, "seed {seed}: final days summed: {summed:?}");
    let today = world.calendar.date_of(world.now);
    assert!(summed.iter().all(|day| *day < today.pred_opt().expect("yesterday")), "seed {seed}: {summed:?}");
    assert_eq!(ledger::rollups::summarize_final_days(conn, &world.calendar, world.now).expect("again"), []);
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
    let day = summed[0];
    let summaries = |conn: &mut PgConnection| {
        support::count(
            conn,
            &format!("SELECT count(*) AS count FROM ledger_platform_days WHERE business_date = '{day}'"),
        )
    };
    assert_eq!(summaries(conn), 1);
    diesel::sql_query(
        "WITH m AS (SELECT merchant_id FROM ledger_merchant_days WHERE business_date = $1 ORDER BY merchant_id LIMIT 1),
              e AS (INSERT INTO ledger_entries (idempotency_key, kind, merchant_id, business_date, memo)
                    SELECT 'test:late', 'reversal', merchant_id, $1, 'booked late' FROM m RETURNING id, merchant_id)
         INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
         SELECT e.id, a.id, CASE a.kind WHEN 'liquidator_commission_revenue' THEN 7 ELSE -7 END
           FROM e JOIN ledger_accounts a ON a.merchant_id = e.merchant_id
                  AND a.kind IN ('liquidator_commission_revenue', 'merchant_pending')",
    )
    .bind::<diesel::sql_types::Date, _>(day)
    .execute(conn)
    .expect("a late booking");
    let (read, derived) = day_read_and_derived(conn, day);
    assert_eq!(read, derived, "seed {seed}: {day} is read with its late booking before it is folded");
    let copies = |conn: &mut PgConnection| {
        support::count(
            conn,
            "SELECT count(*) AS count FROM ledger_statement_days c JOIN ledger_entries e
               ON e.merchant_id = c.merchant_id AND e.business_date = c.business_date
            WHERE e.idempotency_key = 'test:late'",
        )
    };
    assert_eq!(copies(conn), 1, "seed {seed}: the late booking's merchant-day was copied");
    // Its merchant's export, read before the fold removes the day's copy and after: the same,
    // the late booking in both (the copy is not read for a day with entries not folded yet).
    let late_merchant =
        support::count(conn, "SELECT merchant_id AS count FROM ledger_entries WHERE idempotency_key = 'test:late'");
    let export = |conn: &mut PgConnection| {
        let range = ledger::reports::DateRange::new(day, day).expect("a day");
        exported(conn, domain::MerchantId::new(late_merchant), range)
    };
    let before_fold = export(conn);
    // And its whole period, the late booking's day read from the ledger among days read from
    // their copies: as its pages read it, all from the ledger.
    let merchant_id = domain::MerchantId::new(late_merchant);
    let period = ledger::reports::DateRange::ending(world.calendar.date_of(world.now), 40).expect("range");
    let whole = ledger::reports::MovementPage { after_id: None, limit: 100_000 };
    let paged = ledger::reports::statement(conn, merchant_id, period, whole).expect("statement").movements;
    assert_eq!(
        format!("{:?}", exported(conn, merchant_id, period)),
        format!("{paged:?}"),
        "seed {seed}: the export's days, copied or not, in order"
    );
    assert!(
        before_fold.iter().any(|movement| movement.entry.memo.as_deref() == Some("booked late")),
        "seed {seed}: the export holds the late booking before it is folded"
    );
    ledger::rollups::fold(conn).expect("folded");
    assert_eq!(format!("{:?}", export(conn)), format!("{before_fold:?}"), "seed {seed}: and the same after");
    assert_eq!(summaries(conn), 0, "seed {seed}: the late booking, folded, unsummed {day}");
    assert_eq!(copies(conn), 0, "seed {seed}: and its merchant-day's copy is removed");
    let (read, derived) = day_read_and_derived(conn, day);
    assert_eq!(read, derived, "seed {seed}: {day} after the fold");
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
    let again = ledger::rollups::summarize_final_days(conn, &world.calendar, world.now).expect("summed again");
    assert_eq!(again, [day], "seed {seed}");
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
    let (read, derived) = day_read_and_derived(conn, day);
    assert_eq!(read, derived, "seed {seed}: {day} summed again");
    let copied = ledger::rollups::copy_settled_statement_days(conn, &world.calendar, world.now).expect("copied");
    assert_eq!((copied, copies(conn)), (1, 1), "seed {seed}: the merchant-day is copied again");
    assert_eq!(ledger::rollups::differences(conn, 10).expect("compared"), [], "seed {seed}");
}

fn rate(text: &str) -> Rate {
    Rate::parse(text).expect("rate")
}

impl World {
    fn pay(&mut self, conn: &mut PgConnection, step: usize) {
        let merchant = self.rng.gen_range(0..self.merchants.len());
        let total_fen =
            if self.rng.gen_bool(0.2) { self.rng.gen_range(1..=200) } else { self.rng.gen_range(1..=500_000) };
        // Callbacks arrive up to six hours late, so some report a time on a day already settled.
        let paid_at = self.now - Duration::minutes(self.rng.gen_range(0..6 * 60));
        let placed =
            support::place(conn, &self.merchants[merchant].shop, &format!("O{step}"), Amount::from_fen(total_fen));
        let report = |at| PaymentReport { channel: "sandbox", trade_no: placed.trade_no(), payload: json!({}), at };
        if let Err(refused) = lifecycle::record_payment(conn, &self.calendar, report(paid_at)) {
            // Its day was settled already: refused, and booked on today's business day when the
            // callback is retried (the sandbox's callbacks carry the time they are received).
            assert!(format!("{refused:?}").contains("already settled"), "{refused:?}");
            self.late_payments += 1;
            lifecycle::record_payment(conn, &self.calendar, report(self.now)).expect("retried");
        }
        let order = orders::order::find(conn, placed.id()).expect("read").expect("exists");
        let split = FeeSplit::of_total(Amount::from_fen(total_fen), &self.merchants[merchant].rates).expect("split");
        let m = &mut self.merchants[merchant];
        m.add(UpstreamReceivable, total_fen);
        m.add(MerchantPending, split.net_receipt.fen());
        m.add(BankCommissionPayable, split.bank_commission.fen());
        m.add(PayPlatformFeePayable, split.pay_platform.fen());
        m.add(LiquidatorCommissionRevenue, split.liquidator_commission.fen());
        self.orders.push(PaidOrder {
            merchant,
            id: order.id(),
            trade_no: order.trade_no().to_string(),
            unrefunded_fen: total_fen,
        });
    }

    fn refund(&mut self, conn: &mut PgConnection, step: usize) {
        let open: Vec<usize> = (0..self.orders.len()).filter(|&i| self.orders[i].unrefunded_fen > 0).collect();
        let Some(&index) = open.choose(&mut self.rng) else { return };
        let unrefunded_fen = self.orders[index].unrefunded_fen;
        let amount_fen = if self.rng.gen_bool(0.3) { unrefunded_fen } else { self.rng.gen_range(1..=unrefunded_fen) };
        let merchant = self.orders[index].merchant;
        let give_back = FeeSplit::of_refund(
            Amount::from_fen(unrefunded_fen),
            Amount::from_fen(amount_fen),
            &self.merchants[merchant].rates,
        )
        .expect("refund split");
        let before = support::balances(conn, self.merchants[merchant].shop.merchant_id);
        let held_fen = before[&MerchantPending] + before[&MerchantAvailable];
        let out_refund_no = format!("R{step}");
        match support::refund(conn, self.orders[index].id, &out_refund_no, amount_fen, self.now) {
            Ok(Refunded::New { refund, .. }) => {
                assert!(give_back.net_receipt.fen() <= held_fen, "a refund the balances could not cover went through");
                assert_eq!(refund.net_receipt_fen.fen(), give_back.net_receipt.fen());
                let pending_part = give_back.net_receipt.fen().min(before[&MerchantPending]);
                let m = &mut self.merchants[merchant];
                m.add(UpstreamReceivable, -amount_fen);
                m.add(MerchantPending, -pending_part);
                m.add(MerchantAvailable, -(give_back.net_receipt.fen() - pending_part));
                m.add(BankCommissionPayable, -give_back.bank_commission.fen());
                m.add(PayPlatformFeePayable, -give_back.pay_platform.fen());
                m.add(LiquidatorCommissionRevenue, -give_back.liquidator_commission.fen());
                self.orders[index].unrefunded_fen -= amount_fen;
                self.refunds.push(DoneRefund { order_id: self.orders[index].id, out_refund_no, amount_fen });
            }
            Err(OrderError::InsufficientBalance) => {
                assert!(give_back.net_receipt.fen() > held_fen, "refused a refund the balances covered");
                self.refused_refunds += 1;
            }
            other => panic!("unexpected refund outcome {other:?}"),
        }
    }

    fn replay_refund(&mut self, conn: &mut PgConnection) {
        let Some(done) = self.refunds.choose(&mut self.rng) else { return };
        let outcome = support::refund(conn, done.order_id, &done.out_refund_no, done.amount_fen, self.now);
        assert!(matches!(outcome, Ok(Refunded::Replay { .. })), "{outcome:?}");
    }

    fn replay_payment(&mut self, conn: &mut PgConnection) {
        let Some(order) = self.orders.choose(&mut self.rng) else { return };
        support::pay(conn, &self.calendar, &order.trade_no, self.now);
    }

    /// Settles with T+1 now, sometimes releasing the last week's days first.
    fn settle(&mut self, conn: &mut PgConnection) {
        let require_reconciliation = self.rng.gen_bool(0.5);
        if require_reconciliation {
            let day = self.calendar.date_of(self.now - Duration::days(self.rng.gen_range(0..7)));
            rows::release_day(conn, day, "random", "released by the randomized test").expect("release");
        }
        let policy = Policy { calendar: self.calendar, require_reconciliation };
        for settled in settlement::settle_due(conn, &policy, self.now, 1_000).expect("settles") {
            let merchant = self.merchant_index(settled.merchant_id);
            self.merchants[merchant].add(MerchantPending, -settled.amount_fen.fen());
            self.merchants[merchant].add(MerchantAvailable, settled.amount_fen.fen());
        }
    }

    fn reserve_payout(&mut self, conn: &mut PgConnection) {
        let merchant = self.rng.gen_range(0..self.merchants.len());
        let available_fen = support::balance(conn, self.merchants[merchant].shop.merchant_id, MerchantAvailable);
        let fee_fen = self.rng.gen_range(0..=300);
        if available_fen <= fee_fen {
            return;
        }
        let amount_fen = self.rng.gen_range(1..=available_fen - fee_fen);
        let payout = Payout {
            payout_id: support::payout_row(conn, self.merchants[merchant].shop.merchant_id, amount_fen, fee_fen),
            merchant_id: self.merchants[merchant].shop.merchant_id,
            amount: Amount::from_fen(amount_fen),
            fee: Amount::from_fen(fee_fen),
            business_date: self.calendar.date_of(self.now),
        };
        assert!(matches!(bookings::payout_reserved(conn, &payout).expect("reserved"), Booked::New(_)));
        let m = &mut self.merchants[merchant];
        m.add(MerchantAvailable, -(amount_fen + fee_fen));
        m.add(MerchantPayoutInTransit, amount_fen);
        m.add(PayoutFeeRevenue, fee_fen);
        self.payouts.push(PayoutRecord { payout, merchant, state: PayoutState::Reserved });
    }

    fn finish_payout(&mut self, conn: &mut PgConnection) {
        let live: Vec<usize> =
            (0..self.payouts.len()).filter(|&i| self.payouts[i].state != PayoutState::Finished).collect();
        let Some(&index) = live.choose(&mut self.rng) else { return };
        let record = &self.payouts[index];
        let (amount_fen, fee_fen) = (record.payout.amount.fen(), record.payout.fee.fen());
        let m = &mut self.merchants[record.merchant];
        let state = match record.state {
            PayoutState::Reserved if self.rng.gen_bool(0.7) => {
                bookings::payout_succeeded(conn, &record.payout).expect("succeeded");
                m.add(MerchantPayoutInTransit, -amount_fen);
                m.add(PayoutClearing, amount_fen);
                self.paid_out_fen += amount_fen;
                PayoutState::Succeeded
            }
            PayoutState::Reserved => {
                bookings::payout_failed(conn, &record.payout).expect("failed");
                m.add(MerchantPayoutInTransit, -amount_fen);
                m.add(PayoutFeeRevenue, -fee_fen);
                m.add(MerchantAvailable, amount_fen + fee_fen);
                PayoutState::Finished
            }
            PayoutState::Succeeded if self.rng.gen_bool(0.2) => {
                bookings::payout_returned(conn, &record.payout).expect("returned");
                m.add(PayoutClearing, -amount_fen);
                m.add(MerchantAvailable, amount_fen);
                PayoutState::Finished
            }
            _ => PayoutState::Finished,
        };
        self.payouts[index].state = state;
    }

    /// Books a payout event that already happened again: nothing changes.
    fn replay_payout(&mut self, conn: &mut PgConnection) {
        let Some(record) = self.payouts.choose(&mut self.rng) else { return };
        let replay = bookings::payout_reserved(conn, &record.payout).expect("replayed");
        assert!(matches!(replay, Booked::Replay(_)));
    }

    fn merchant_index(&self, merchant_id: MerchantId) -> usize {
        self.merchants.iter().position(|m| m.shop.merchant_id == merchant_id).expect("known merchant")
    }
}
