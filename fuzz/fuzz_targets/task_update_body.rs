//! `PUT /api/{user_id}/tasks/{id}`: the body as the example servers parse
//! it (`parse_json::<TaskUpdate>`), then applied through the example's
//! `TaskStore` (SQLite in memory) to an existing task.
#![no_main]

use auth_core::http::parse_json;
use auth_fuzz::*;
use libfuzzer_sys::fuzz_target;
use task_app::tasks::TaskUpdate;

fuzz_target!(|data: &[u8]| {
    let update = match parse_json::<TaskUpdate>(JSON, data) {
        Ok(update) => update,
        Err(problem) => return check_parse_error(&problem),
    };
    let fixture = task_fixture();
    runtime().block_on(async {
        let tasks = &fixture.app.tasks;
        let before = tasks.get(&fixture.user, fixture.task_id).await.unwrap();
        match tasks
            .update(&fixture.user, fixture.task_id, update.clone())
            .await
        {
            Ok(task) => {
                check_stored_task(&task);
                assert_eq!(task.title, update.title.trim());
                match &update.description {
                    None => assert_eq!(task.description, before.description),
                    Some(sent) => assert_eq!(&task.description, sent),
                }
                assert_eq!(task.completed, update.completed.unwrap_or(before.completed));
                assert_eq!(task.created_at, before.created_at);
            }
            Err(err) => {
                check_task_error(&err);
                let after = tasks.get(&fixture.user, fixture.task_id).await.unwrap();
                assert_eq!(after, before, "a refused update changed the task");
            }
        }
    });
});
