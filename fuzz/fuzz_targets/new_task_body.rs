//! `POST /api/{user_id}/tasks`: the body as the example servers parse it
//! (`auth_core::http::parse_json::<NewTask>`), then stored through the
//! example's `TaskStore` (SQLite in memory), as the route does.
#![no_main]

use auth_core::http::parse_json;
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;
use task_app::tasks::NewTask;

fuzz_target!(|data: &[u8]| {
    let new = match parse_json::<NewTask>(JSON, data) {
        Ok(new) => new,
        Err(problem) => return check_parse_error(&problem),
    };
    let fixture = task_fixture();
    runtime().block_on(async {
        match fixture.app.tasks.create(&fixture.user, new.clone()).await {
            Ok(task) => {
                check_stored_task(&task);
                assert_eq!(task.title, new.title.trim());
                assert_eq!(task.description, new.description);
                assert!(!task.completed);
                // Read back as the list and get routes would.
                let read = fixture.app.tasks.get(&fixture.user, task.id).await.unwrap();
                assert_eq!(read, task, "the stored task reads back differently");
                fixture
                    .app
                    .tasks
                    .delete(&fixture.user, task.id)
                    .await
                    .unwrap();
            }
            Err(err) => check_task_error(&err),
        }
    });
});
