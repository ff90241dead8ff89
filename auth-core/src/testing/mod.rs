//! A conformance suite for [`UserStore`], [`SessionStore`],
//! [`OneTimeTokenStore`], [`CredentialStore`] and [`MailQueue`]
//! implementations (feature `testing`).
//!
//! One set of async checks that any store must pass: duplicate emails,
//! racing creates, refresh-token rotation as compare-and-swap (also under
//! races), reuse detection, revocation and expiry; reuses within the
//! reuse interval (sibling refresh tokens, a bounded number of them, also
//! under races, and racing refreshes through the service that all
//! succeed); names, verified and
//! changed emails, deleting users, listing and revoking a user's sessions
//! and what they keep of their client (user agent, address, last refresh);
//! one-time tokens used once, for their purpose only, voided by newer
//! ones, and won by exactly one of racing consumers; credentials unique
//! per kind and lookup, replaced, updated and consumed by compare-and-swap
//! (one winner of racing inserts, updates and consumptions), deleted only
//! by their owner and with them; one TOTP code or backup code sent by many
//! sign-ins at once signs in one of them, and so does one passkey sign
//! counter; an API key used by many requests at once has its last use
//! written once; queued mail claimed once, in order per key, again after
//! its lease or its retry time, by exactly one of racing claimers.
//! [`SoftAuthenticator`] answers passkey ceremonies for tests. [`MemoryStore`](crate::MemoryStore) runs it
//! in this crate's tests; `auth-sqlx` runs it against SQLite and PostgreSQL;
//! a third-party store runs it with one macro call in a test file:
//!
//! ```
//! use auth_core::{MemoryStore, testing::TestStores};
//!
//! auth_core::store_conformance_tests!(|| async { TestStores::shared(MemoryStore::new()) });
//! # fn main() {}
//! ```
//!
//! The macro expands to one `#[test]` per case, each calling the factory for
//! fresh stores (give each its own database or schema so the tests can run
//! in parallel). A factory may return `Option<TestStores>`: `None` skips the
//! case with a message on stderr (not captured by the test harness, so it
//! is seen), for backends that are not reachable.
//!
//! Each case is also a public async function in [`cases`], to call directly.
//!
//! For tests of your own, [`Hooked`] wraps a store with a [`Hook`] around
//! each call: to count calls, make racers meet, slow or fail one.

mod account_cases;
mod api_key_cases;
pub mod cases;
mod credential_cases;
mod credential_race_cases;
mod mail_queue_cases;
mod one_time_cases;
mod passkey;
mod passkey_cases;
mod reuse_cases;
mod reuse_service_cases;
mod session_client_cases;
mod two_factor_cases;

pub use crate::hooked::{Hook, Hooked};
pub use passkey::SoftAuthenticator;

use std::{future::Future, io::Write as _, sync::Arc};

use crate::{
    AuthError, CredentialStore, OneTimeTokenStore, SessionStore, UserStore, store::MailQueue,
};

/// The stores under test. They must share data (a session's user must be
/// visible to the session store).
#[derive(Clone)]
pub struct TestStores {
    /// The user store.
    pub users: Arc<dyn UserStore>,
    /// The session store.
    pub sessions: Arc<dyn SessionStore>,
    /// The one-time token store.
    pub one_time_tokens: Arc<dyn OneTimeTokenStore>,
    /// The credential store.
    pub credentials: Arc<dyn CredentialStore>,
    /// The mail queue.
    pub mail_queue: Arc<dyn MailQueue>,
}

impl TestStores {
    /// All five traits served by one store value, as with `MemoryStore`
    /// or the SQL stores.
    pub fn shared<S>(store: S) -> Self
    where
        S: UserStore + SessionStore + OneTimeTokenStore + CredentialStore + MailQueue + Clone,
    {
        Self {
            users: Arc::new(store.clone()),
            sessions: Arc::new(store.clone()),
            one_time_tokens: Arc::new(store.clone()),
            credentials: Arc::new(store.clone()),
            mail_queue: Arc::new(store),
        }
    }
}

impl std::fmt::Debug for TestStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestStores { .. }")
    }
}

/// Runs one case on a fresh multi-threaded tokio runtime (races need real
/// parallelism), with stores from `make`.
///
/// # Errors
/// The case's failure, or [`AuthError::Internal`] if no runtime can be built.
pub fn run_case<Make, MakeFut, Made, Case, CaseFut>(
    name: &str,
    make: Make,
    case: Case,
) -> Result<(), AuthError>
where
    Make: FnOnce() -> MakeFut,
    MakeFut: Future<Output = Made>,
    Made: Into<Option<TestStores>>,
    Case: FnOnce(TestStores) -> CaseFut,
    CaseFut: Future<Output = Result<(), AuthError>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(AuthError::internal)?;
    runtime.block_on(async move {
        match make().await.into() {
            Some(stores) => case(stores).await,
            None => {
                // Straight to stderr: the test harness captures `eprintln!`
                // of passing tests, and a skip must be visible.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: {name} (the store factory returned no stores)"
                );
                Ok(())
            }
        }
    })
}

/// Expands to one `#[test]` per conformance case, each running against
/// stores from the given factory (a closure returning a future of
/// [`TestStores`] or `Option<TestStores>`). See the [module docs](self).
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::__store_conformance_cases!(
            $make;
            duplicate_email_is_a_conflict,
            racing_creates_with_one_email_make_one_user,
            users_are_found_by_email_and_id,
            unknown_and_foreign_ids_are_not_found,
            password_hash_updates_persist,
            accounts_without_password_say_so,
            password_hash_update_of_a_missing_user_fails,
            sessions_need_an_existing_user,
            current_refresh_token_finds_its_session,
            unknown_refresh_token_finds_nothing,
            rotation_swaps_the_current_hash,
            rotation_with_a_stale_hash_fails,
            every_rotated_hash_is_remembered,
            racing_rotations_have_one_winner,
            a_reused_token_gets_a_sibling_that_rotates,
            only_recent_rotated_hashes_of_the_session_are_reused,
            reuses_need_an_active_session,
            reuses_of_one_hash_are_bounded,
            racing_reuses_are_bounded,
            siblings_are_deleted_with_their_session,
            racing_refreshes_with_one_token_all_succeed,
            revoked_sessions_are_inactive_and_do_not_rotate,
            expired_sessions_are_inactive_and_do_not_rotate,
            revoking_is_idempotent,
            revoking_all_of_a_users_sessions_spares_others,
            unknown_sessions_are_inactive,
            ended_sessions_are_deleted_with_their_history,
            names_are_set_and_cleared,
            the_current_email_is_verified,
            a_changed_email_replaces_the_old_one,
            a_stale_email_is_not_verified,
            a_taken_email_is_a_conflict,
            deleting_a_user_deletes_everything_of_theirs,
            revoking_a_users_sessions_can_keep_one,
            revoking_one_session_needs_its_owner,
            active_sessions_are_listed_newest_first,
            session_clients_round_trip,
            rotations_record_activity_and_client,
            failed_rotations_record_nothing,
            reuses_and_sibling_rotations_record_activity,
            a_full_length_user_agent_round_trips,
            one_time_tokens_are_consumed_once,
            one_time_tokens_work_for_their_purpose_only,
            expired_one_time_tokens_are_refused,
            a_newer_one_time_token_voids_the_older,
            one_time_tokens_are_voided,
            expired_one_time_tokens_are_deleted,
            one_time_tokens_need_an_existing_user,
            racing_consumptions_have_one_winner,
            credentials_are_stored_and_found,
            expired_credentials_are_still_read,
            a_taken_lookup_is_not_inserted_again,
            credentials_need_an_existing_user,
            credentials_out_of_the_rules_are_refused,
            a_replacement_voids_the_older_credential,
            credentials_are_listed_oldest_first,
            credential_updates_compare_the_version,
            credentials_are_consumed_once,
            deleting_a_credential_needs_its_owner,
            a_users_credentials_of_a_kind_are_deleted,
            expired_credentials_are_deleted,
            deleting_a_user_deletes_their_credentials,
            racing_credential_inserts_have_one_winner,
            racing_credential_updates_have_one_winner,
            racing_credential_consumptions_have_one_winner,
            racing_credential_replacements_leave_one,
            racing_totp_codes_have_one_winner,
            racing_backup_codes_have_one_winner,
            racing_passkey_assertions_have_one_winner,
            racing_api_key_uses_write_last_used_once,
            queued_mail_is_claimed_once,
            queued_mail_is_claimed_in_order_and_by_limit,
            claimed_mail_is_claimed_again_after_its_lease,
            retried_mail_waits_until_not_before,
            completed_mail_is_gone,
            mail_of_one_key_goes_out_in_order,
            cancelled_mail_is_gone,
            mail_queue_status_and_key_rules,
            racing_claims_take_each_mail_once,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() -> ::core::result::Result<(), $crate::AuthError> {
                $crate::testing::run_case(
                    ::core::stringify!($case),
                    $make,
                    $crate::testing::cases::$case,
                )
            }
        )+
    };
}
