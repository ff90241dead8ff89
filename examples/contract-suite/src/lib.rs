//! A black-box test suite for the example task API servers: every row of the
//! HTTP contract (`api-contract.md`), driven over HTTP only, so that the same
//! cases run unchanged against every server that serves the contract.
//!
//! A server package runs the whole suite against its binary with one line in
//! `tests/contract.rs`:
//!
//! ```ignore
//! contract_suite::contract_tests!(env!("CARGO_BIN_EXE_task-api-axum"));
//! ```
//!
//! That expands to `mod sqlite { ... }` and `mod postgres { ... }`, with one
//! `#[test]` per case in each; every test starts its own server (on a fresh
//! database) with [`Server`] and runs the case against it. The PostgreSQL
//! tests run when `AUTH_TEST_POSTGRES_URL` is set and otherwise say
//! `skipped: no PostgreSQL ...` and pass.
//!
//! Most cases only need a base URL and the server's JWT settings, a
//! [`Target`]; the others ([`cases::logs_hold_no_secrets`],
//! [`cases::graceful_shutdown`], [`cases::restart_keeps_tokens`],
//! [`cases::sign_in_rate_limit`], [`cases::client_rate_limit`],
//! [`cases::instances_share_limits_and_revocations`], the refresh cases
//! that need their own `REFRESH_REUSE_INTERVAL_SECS`, and the account cases
//! listed under `server:` in the macro) start their own servers with
//! [`Server`]. Every server gets its own mail outbox folder, which the
//! account cases read through [`Outbox`].

// In this crate a panic is how a case fails (like an `assert!` in a test),
// so unwrap/expect/panic are the point, not an oversight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod better_auth;
pub mod browser;
pub mod cases;
pub mod client;
pub mod oidc;
pub mod outbox;
pub mod server;
pub mod smtp;
pub mod tokens;
pub mod totp;
pub mod webauthn;

pub use client::{Account, Api, Reply};
pub use outbox::{Mail, Outbox};
pub use server::{Backend, Server, Target};

/// The runtime the generated tests run on, for the macro.
#[doc(hidden)]
pub use tokio;

/// Support for [`contract_tests!`](crate::contract_tests); not a stable API.
#[doc(hidden)]
pub mod __private {
    use std::{future::Future, path::Path};

    use crate::{Backend, Server};

    /// Runs `future` to completion on a fresh multi-threaded runtime with
    /// two workers (what `#[tokio::test(flavor = "multi_thread",
    /// worker_threads = 2)]` does), so that the caller needs no tokio macros.
    pub fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the contract test")
            .block_on(future)
    }

    /// The backend of a generated test (`sqlite` or `postgres`), or `None`
    /// after printing a skip line when PostgreSQL is not configured.
    pub fn backend(kind: &str, test: &str) -> Option<Backend> {
        match kind {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => {
                if Backend::postgres_available() {
                    Some(Backend::Postgres)
                } else {
                    crate::server::say(&format!(
                        "skipped: no PostgreSQL ({} is not set): {test}",
                        crate::server::POSTGRES_URL_VAR
                    ));
                    None
                }
            }
            other => panic!("unknown backend kind {other:?}"),
        }
    }

    /// A server with the suite's default configuration on `backend`.
    pub async fn default_server(binary: &str, backend: Backend) -> Server {
        Server::start(Path::new(binary), backend, &[]).await
    }
}

/// Generates the whole contract suite for a server binary: `mod sqlite` and
/// `mod postgres`, each with one `#[test]` per case.
///
/// ```ignore
/// // tests/contract.rs of a server package (dev-dependency: contract-suite)
/// contract_suite::contract_tests!(env!("CARGO_BIN_EXE_task-api-axum"));
/// ```
///
/// This is the one list of cases: a new case in [`cases`] is one more line
/// here. `target` cases take a [`Target`] of a freshly started server with
/// the default configuration; `server` cases take the binary and a
/// [`Backend`] and start their own servers; `sqlite_only` and
/// `postgres_only` cases are `server` cases generated in `mod sqlite` or
/// `mod postgres` only.
#[macro_export]
macro_rules! contract_tests {
    ($binary:expr $(,)?) => {
        $crate::__contract_tests! {
            binary: $binary;
            target: [
                // Other
                healthz_ok,
                openapi_document,
                demo_page_is_served,
                unknown_routes_are_404,
                escaped_paths_are_read_alike,
                wrong_method_is_405_with_allow,
                cors_allows_configured_origin_only,
                options_without_preflight_is_ordinary,
                long_urls_are_414,
                // Request bodies
                malformed_auth_bodies_are_400,
                malformed_task_bodies_are_400,
                missing_or_wrong_content_type_is_415,
                oversized_bodies_are_413,
                chunked_oversized_body_is_413,
                // Sign-up
                sign_up_returns_auth_response,
                sign_up_normalises_email,
                sign_up_name_is_optional,
                sign_up_taken_email_is_409,
                concurrent_sign_ups_one_wins,
                sign_up_rejects_invalid_email,
                password_length_rules,
                common_passwords_are_refused,
                name_rules,
                // Sign-in
                sign_in_returns_new_session,
                sign_in_failures_are_identical,
                sign_in_ignores_sign_up_rules,
                // Refresh
                refresh_rotates_and_keeps_session,
                refresh_rejects_unknown_tokens,
                refresh_from_several_tabs_at_once,
                // Sign-out and /me
                sign_out_revokes_only_its_session,
                sign_out_without_body,
                sign_out_body_rules,
                me_returns_user,
                // The refresh cookie of a same-origin page
                cookie_mode_sets_http_only_cookie,
                cookie_refresh_without_cookie_is_401,
                cookie_sign_out_clears,
                cookie_mode_refuses_cross_site,
                cookie_sent_twice_is_refused,
                // Access tokens
                missing_token_variants,
                bearer_scheme_is_case_insensitive,
                suite_minted_token_is_accepted,
                invalid_tokens_are_rejected,
                session_vouches_only_for_its_user,
                expired_token_is_token_expired,
                huge_token_is_ordinary_401,
                duplicate_jwt_keys_never_first_wins,
                // Tasks
                task_routes_need_token,
                task_create,
                task_list_order_and_filters,
                task_list_query_validation,
                task_get_one,
                task_put,
                task_delete,
                task_toggle_complete,
                task_field_rules,
                task_bad_ids_are_404,
                task_idor_is_403_or_404,
                task_lists_are_per_user,
                error_precedence,
                // Account
                update_name_sets_and_clears,
                update_name_rules,
                user_shows_email_verified,
                change_password_keeps_only_this_session,
                change_password_wrong_current_is_403,
                change_password_checks_new_password,
                password_reset_request_sends_token,
                password_reset_request_unknown_is_identical,
                password_reset_revokes_every_session,
                reset_token_is_single_use,
                reset_rejects_weak_password_first,
                tokens_have_one_purpose,
                newer_reset_token_voids_older,
                password_change_voids_reset_token,
                concurrent_resets_one_wins,
                verify_email_marks_user_verified,
                verification_token_is_single_use,
                change_email_takes_effect_when_verified,
                change_email_wrong_password_is_403,
                change_email_value_rules,
                change_email_to_taken_address,
                change_email_never_takes_a_verified_address,
                newer_change_email_voids_older,
                pending_email_change_ends_with_the_password,
                sessions_list_active_only,
                sessions_show_their_client,
                openapi_sessions_list_client_fields,
                revoke_one_session,
                revoke_session_of_others_is_404,
                revoke_all_sessions,
                delete_account_checks_password,
                delete_account_removes_everything,
                passwordless_user_confirms_by_a_fresh_sign_in,
                openapi_states_what_stands_in_for_the_password,
                account_routes_need_token,
                openapi_lists_account_routes,
                outbox_files_are_owner_only,
                // Email sign-in
                email_sign_in_by_link_or_code,
                email_sign_in_code_allows_five_wrong_tries,
                newer_email_sign_in_voids_older,
                email_sign_in_unknown_address,
                email_sign_in_takes_back_an_unverified_account,
                email_codes_are_limited_per_address,
                // Two-factor: management
                two_factor_setup_returns_secret_and_codes,
                two_factor_needs_a_verified_address,
                two_factor_enable_checks_code,
                two_factor_enable_ends_other_sessions,
                two_factor_disable_checks_password,
                two_factor_new_phone_replaces_the_secret,
                two_factor_new_backup_codes_void_old,
                two_factor_routes_need_token,
                openapi_lists_two_factor_routes,
                // Two-factor: signing in
                two_factor_password_sign_in_asks_for_a_code,
                two_factor_codes_are_normalised,
                two_factor_totp_codes_are_single_use,
                two_factor_concurrent_totp_code_one_wins,
                two_factor_concurrent_backup_code_one_wins,
                two_factor_challenge_allows_five_wrong_codes,
                two_factor_challenge_is_bound_to_its_user,
                two_factor_survives_password_reset,
                two_factor_email_sign_in_asks_for_a_code,
                two_factor_in_cookie_mode,
                // Passkeys: management
                passkey_register_sign_in_delete,
                passkey_names,
                passkey_needs_a_verified_address,
                passkey_exclude_list_and_duplicates,
                passkey_registration_ceremony_failures,
                passkey_list_holds_no_secrets,
                passkey_delete_is_per_user,
                passkey_goes_with_the_account,
                passkey_routes_need_token,
                openapi_lists_passkey_routes,
                // Passkeys: signing in
                passkey_sign_in_ceremony_failures,
                passkey_challenges_are_single_use,
                passkey_sign_counter_must_go_up,
                passkey_is_bound_to_its_owner,
                passkey_user_verification_and_two_factor,
                // API keys
                api_key_create_shape,
                api_key_list_holds_no_secrets,
                api_key_delete_stops_it_at_once,
                api_key_delete_is_per_user,
                api_key_outlives_sessions,
                api_key_goes_with_the_account,
                api_key_tampered_is_401,
                api_key_last_used_at_is_set,
                api_key_cap_is_409,
                api_key_works_on_task_routes,
                api_key_refused_on_session_routes,
                api_key_bad_bodies_are_4xx,
                api_key_routes_need_token,
                openapi_lists_api_key_routes,
            ];
            server: [
                logs_hold_no_secrets,
                graceful_shutdown,
                sign_in_rate_limit,
                sessions_end_at_their_lifetime,
                database_tls_settings,
                client_rate_limit,
                sessions_show_the_forwarded_client,
                // Clients that hold connections: on both databases, as the
                // issue that found them asks.
                never_reading_clients_are_dropped,
                announced_oversized_bodies_are_413_at_once,
                // Refresh: a replay after the reuse interval, and strict
                // rotation (`REFRESH_REUSE_INTERVAL_SECS=0`).
                refresh_replay_after_the_interval_revokes,
                refresh_reuse_revokes_session,
                cookie_refresh_rotates_and_detects_reuse,
                // Account
                one_time_tokens_expire,
                sign_up_requires_verified_email,
                unverified_sessions_are_not_kept,
                mail_requests_are_limited_per_address,
                mail_requests_are_limited_per_client,
                mail_requests_are_limited_per_client_over_addresses,
                account_logs_hold_no_tokens,
                email_sign_up_can_be_off,
                // The mail queue: a server killed before it could send.
                queued_mail_survives_kill_9,
                // OAuth 2.0 / OpenID Connect: each server is configured
                // with the test provider (crate::oidc).
                oauth_sign_in_round_trip,
                oauth_authorize_redirects_to_provider,
                oauth_redirect_to_is_checked,
                oauth_callback_checks_state,
                oauth_provider_errors_sign_nobody_in,
                oauth_bad_id_tokens_are_refused,
                oauth_unavailable_provider_is_reported,
                oauth_exchange_code_is_single_use,
                oauth_exchange_is_bound_to_its_challenge,
                oauth_identity_goes_when_the_owner_takes_the_account_back,
                oauth_links_a_verified_account,
                oauth_unverified_account_is_not_taken,
                oauth_unverified_provider_address,
                oauth_link_while_signed_in,
                oauth_unlink_rules,
                oauth_github_preset,
                // Sessions aged in the database, with the OpenID provider.
                stale_sign_ins_cannot_delete_change_email_or_link,
                // Two-factor
                two_factor_oauth_sign_in_asks_for_a_code,
                two_factor_bad_input_is_4xx,
                two_factor_verify_counts_toward_sign_in_throttle,
                two_factor_reset_keeps_the_sign_in_throttle,
                two_factor_verify_is_limited_per_client,
                two_factor_logs_hold_no_secrets,
                // Passkeys
                passkey_bad_input_is_4xx,
                passkey_rp_id_and_origins_are_configurable,
                // With the OpenID test provider, for a user without a password.
                passkey_last_sign_in_method,
                // API keys
                api_key_logs_hold_no_key,
                api_keys_can_be_off,
            ];
            sqlite_only: [
                restart_keeps_tokens,
                // Configuration is read before the database is opened.
                bad_refresh_reuse_intervals_stop_the_server,
                // Connection handling does not depend on the database.
                idle_connections_are_closed,
                slow_request_heads_are_cut,
                full_server_still_answers,
                connections_are_capped,
            ];
            postgres_only: [
                instances_share_limits_and_revocations,
                // Account: the database, read directly.
                delete_account_leaves_no_rows,
                secrets_are_stored_hashed,
                // OAuth: a callback on an instance that has not discovered the provider.
                oauth_callback_on_another_instance,
                // Two-factor: the database, read and aged directly.
                two_factor_secrets_are_not_stored_in_clear,
                two_factor_challenges_and_sign_ins_go_stale,
                // Passkeys: challenges aged in the database.
                passkey_challenges_expire,
                // API keys: rows read and aged in the database.
                api_keys_are_hashed_and_expire,
            ];
        }
    };
}

/// The expansion of [`contract_tests!`](crate::contract_tests); not a stable API.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    (
        binary: $binary:expr;
        target: [$($target:ident),* $(,)?];
        server: [$($server:ident),* $(,)?];
        sqlite_only: [$($sqlite_only:ident),* $(,)?];
        postgres_only: [$($postgres_only:ident),* $(,)?];
    ) => {
        /// The contract cases against the server on SQLite.
        mod sqlite {
            $( $crate::__contract_test!(target, sqlite, $target, $binary); )*
            $( $crate::__contract_test!(server, sqlite, $server, $binary); )*
            $( $crate::__contract_test!(server, sqlite, $sqlite_only, $binary); )*
        }

        /// The contract cases against the server on PostgreSQL.
        mod postgres {
            $( $crate::__contract_test!(target, postgres, $target, $binary); )*
            $( $crate::__contract_test!(server, postgres, $server, $binary); )*
            $( $crate::__contract_test!(server, postgres, $postgres_only, $binary); )*
        }
    };
}

/// One generated test; not a stable API.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_test {
    (target, $kind:ident, $case:ident, $binary:expr) => {
        #[test]
        fn $case() {
            $crate::__private::block_on(async {
                let test = concat!(module_path!(), "::", stringify!($case));
                let Some(backend) = $crate::__private::backend(stringify!($kind), test) else {
                    return;
                };
                let server = $crate::__private::default_server($binary, backend).await;
                $crate::cases::$case(&server.target()).await;
            });
        }
    };
    (server, $kind:ident, $case:ident, $binary:expr) => {
        #[test]
        fn $case() {
            $crate::__private::block_on(async {
                let test = concat!(module_path!(), "::", stringify!($case));
                let Some(backend) = $crate::__private::backend(stringify!($kind), test) else {
                    return;
                };
                $crate::cases::$case(::std::path::Path::new($binary), backend).await;
            });
        }
    };
}
