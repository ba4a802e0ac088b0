use domain::onboarding::{ApplicationState, IllegalTransition, Transition};

use ApplicationState::*;

/// SPEC §4's life cycle, written out as (from, transition, to) independently of the crate's
/// tables: draft → submitted → verifying_account → in_review → approved | rejected; approved →
/// frozen ↔ approved; any state but closed → closed.
fn legal() -> Vec<(ApplicationState, Transition, ApplicationState)> {
    let mut legal = vec![
        (Draft, Transition::Submit, Submitted),
        (Submitted, Transition::StartVerification, VerifyingAccount),
        (VerifyingAccount, Transition::AccountVerified, InReview),
        (VerifyingAccount, Transition::VerificationFailed, Submitted),
        (InReview, Transition::RequestChanges, Draft),
        (InReview, Transition::Approve, Approved),
        (InReview, Transition::Reject, Rejected),
        (Approved, Transition::Freeze, Frozen),
        (Frozen, Transition::Unfreeze, Approved),
    ];
    for from in [Draft, Submitted, VerifyingAccount, InReview, Approved, Rejected, Frozen] {
        legal.push((from, Transition::Close, Closed));
    }
    legal
}

#[test]
fn every_state_and_transition_follows_the_table() {
    let legal = legal();
    let mut checked = 0;
    for from in ApplicationState::ALL {
        for transition in Transition::ALL {
            let expected = legal.iter().find(|(state, t, _)| *state == from && *t == transition).map(|(_, _, to)| *to);
            let result = from.apply(transition);
            match expected {
                Some(to) => assert_eq!(result, Ok(to), "{from} {transition}"),
                None => assert_eq!(result, Err(IllegalTransition { from, transition }), "{from} {transition}"),
            }
            assert_eq!(transition.from_states().contains(&from), expected.is_some(), "{from} {transition}");
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 10);
    // Each transition always leads to the same state.
    for (_, transition, to) in legal {
        assert_eq!(transition.target(), to);
    }
}

#[test]
fn closed_is_final() {
    for transition in Transition::ALL {
        assert!(Closed.apply(transition).is_err(), "{transition}");
    }
    assert_eq!(Closed.transitions().count(), 0);
}

#[test]
fn transitions_lists_what_a_state_allows() {
    let from_review: Vec<_> = InReview.transitions().collect();
    assert_eq!(from_review, [Transition::RequestChanges, Transition::Approve, Transition::Reject, Transition::Close]);
    let from_approved: Vec<_> = Approved.transitions().collect();
    assert_eq!(from_approved, [Transition::Freeze, Transition::Close]);
}

#[test]
fn only_approved_merchants_can_transact() {
    for state in ApplicationState::ALL {
        assert_eq!(state.can_transact(), state == Approved, "{state}");
    }
}

#[test]
fn states_and_transitions_have_fixed_codes() {
    let state_codes: Vec<_> = ApplicationState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        state_codes,
        ["draft", "submitted", "verifying_account", "in_review", "approved", "rejected", "frozen", "closed"]
    );
    for state in ApplicationState::ALL {
        assert_eq!(ApplicationState::parse(state.as_str()), Some(state));
        assert_eq!(state.to_string(), state.as_str());
        assert_eq!(serde_json::to_string(&state).unwrap(), format!("\"{}\"", state.as_str()));
    }
    let transition_codes: Vec<_> = Transition::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        transition_codes,
        [
            "submit",
            "start_verification",
            "account_verified",
            "verification_failed",
            "request_changes",
            "approve",
            "reject",
            "freeze",
            "unfreeze",
            "close"
        ]
    );
    for transition in Transition::ALL {
        assert_eq!(Transition::parse(transition.as_str()), Some(transition));
        assert_eq!(transition.to_string(), transition.as_str());
    }
    for text in ["", "Draft", "verifying account", "open"] {
        assert_eq!(ApplicationState::parse(text), None, "{text:?}");
        assert_eq!(Transition::parse(text), None, "{text:?}");
    }
}

#[test]
fn illegal_transitions_explain_themselves() {
    let cases = [
        (Draft, Transition::Approve, "cannot approve an application that is still a draft"),
        (Closed, Transition::Close, "cannot close an application that is closed"),
        (
            Approved,
            Transition::StartVerification,
            "cannot start bank account verification for an application that is approved",
        ),
        (InReview, Transition::AccountVerified, "cannot confirm the bank account of an application that is in review"),
        (
            Submitted,
            Transition::VerificationFailed,
            "cannot fail the bank account verification of an application that is submitted",
        ),
        (
            VerifyingAccount,
            Transition::RequestChanges,
            "cannot request changes to an application that is verifying its bank account",
        ),
        (Rejected, Transition::Unfreeze, "cannot unfreeze an application that is rejected"),
        (Frozen, Transition::Freeze, "cannot freeze an application that is frozen"),
    ];
    for (from, transition, message) in cases {
        assert_eq!(from.apply(transition).unwrap_err().to_string(), message);
    }
}
