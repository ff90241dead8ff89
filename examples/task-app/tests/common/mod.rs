//! What the task-app tests share: an app on a fresh SQLite file.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use auth_core::{Password, SignUpRequest, UserId};
use task_app::{app::App, config::Config, tasks::TaskStore};

/// The app with its defaults on the SQLite file `db` (created).
pub(crate) async fn sqlite_app(db: &Path) -> App {
    let url = format!("sqlite://{}", db.display());
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "JWT_SECRET" => Some("a test secret that is long enough, 32+".to_owned()),
        _ => None,
    })
    .unwrap();
    App::start(&config).await.unwrap()
}

/// The task store of [`sqlite_app`] on `db`, and a user signed up as `email`.
pub(crate) async fn tasks_and_user(db: &Path, email: &str) -> (TaskStore, UserId) {
    let app = sqlite_app(db).await;
    let user = app
        .auth()
        .unwrap()
        .sign_up(SignUpRequest {
            email: email.into(),
            password: Password::new("correct horse battery staple"),
            name: None,
        })
        .await
        .and_then(auth_core::SignUp::signed_in)
        .unwrap()
        .user
        .id;
    (app.tasks, user)
}
