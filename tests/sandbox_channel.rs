//! The sandbox channel as the server runs it: its payouts kept in PostgreSQL, so a second node or
//! a restarted process sees the same payouts, a resubmission gets the first answer, and a test can
//! count exactly what the channel was asked for.
use channel::{ChannelError, PayOut, Payee, PayoutRequest, PayoutStatus, sandbox::SandboxRules};
use chrono::Utc;
use domain::{
    Amount,
    onboarding::{AccountType, BankAccountNumber},
};
use storage::database::run_blocking;

fn request(out_trade_no: &str, account_number: &str) -> PayoutRequest {
    PayoutRequest {
        out_trade_no: out_trade_no.into(),
        amount: Amount::from_fen(1_234),
        subject: "test".into(),
        payee: Payee {
            account_number: BankAccountNumber::parse(account_number, AccountType::Corporate).expect("a number"),
            account_name: "示例科技".into(),
            bank_code: "ICBC".into(),
            cnaps_code: Some("102100099996".into()),
        },
        merchant_at_channel: None,
    }
}

#[tokio::test]
async fn payouts_outlive_the_instance_that_took_them_and_are_counted_once() {
    let app = e2e::spawn_app().await;
    let started = Utc::now() - chrono::Duration::seconds(1);
    let node_a =
        server::platform::sandbox(&app.pool, SandboxRules::default(), Default::default()).await.expect("sandbox");
    let paid = node_a.payout(&request("P1", "6222000011112222")).await.expect("paid");
    assert!(matches!(paid, PayoutStatus::Succeeded { .. }), "{paid:?}");
    let pending = node_a.payout(&request("P2", "6222000011115555")).await.expect("accepted");
    assert!(matches!(pending, PayoutStatus::Pending { .. }), "{pending:?}");
    // The timeout rule: the outcome is unknown to the caller, but the payout was taken.
    let unknown = node_a.payout(&request("P3", "6222000011117777")).await;
    assert!(matches!(unknown, Err(ChannelError::OutcomeUnknown(_))), "{unknown:?}");
    let unknown = node_a.payout(&request("P4", "6222000011118888")).await;
    assert!(matches!(unknown, Err(ChannelError::OutcomeUnknown(_))), "{unknown:?}");
    let delayed = SandboxRules { delay_seconds: 1, ..SandboxRules::default() };
    let node_c = server::platform::sandbox(&app.pool, delayed, Default::default()).await.expect("sandbox");
    let later = node_c.payout(&request("P5", "6222000011113333")).await.expect("accepted");
    assert!(matches!(later, PayoutStatus::Pending { .. }), "{later:?}");

    // Another node (or this one after a restart): a new instance over the same database.
    let node_b =
        server::platform::sandbox(&app.pool, SandboxRules::default(), Default::default()).await.expect("sandbox");
    assert_eq!(node_b.query_payout(&request("P1", "6222000000001234")).await.expect("found"), paid);
    assert_eq!(node_b.query_payout(&request("P2", "6222000000001234")).await.expect("found"), pending);
    assert!(
        matches!(node_b.query_payout(&request("P3", "6222000000001234")).await, Ok(PayoutStatus::Succeeded { .. })),
        "taken despite the timeout"
    );
    assert!(
        matches!(node_b.query_payout(&request("P4", "6222000000001234")).await, Ok(PayoutStatus::Failed { .. })),
        "refused behind the timeout"
    );
    assert!(
        matches!(node_b.query_payout(&request("P5", "6222000000001234")).await, Ok(PayoutStatus::Pending { .. })),
        "not yet"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(
        matches!(node_b.query_payout(&request("P5", "6222000000001234")).await, Ok(PayoutStatus::Succeeded { .. })),
        "after its delay"
    );
    assert_eq!(node_b.query_payout(&request("NEVER", "6222000000001234")).await, Err(ChannelError::NotFound));
    // Submitted again under the same out_trade_no: the first answer, and nothing new taken.
    assert_eq!(node_b.payout(&request("P2", "6222000011115555")).await.expect("again"), pending);

    let taken = run_blocking(&app.pool, move |conn| storage::sandbox_payouts::count_since(conn, started))
        .await
        .expect("counted");
    assert_eq!(taken, 5, "exactly what the channel was asked for");
}
