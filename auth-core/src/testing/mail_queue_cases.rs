//! Conformance cases of [`MailQueue`](crate::store::MailQueue), races
//! included. Re-exported by [`cases`](super::cases).

use std::{collections::HashSet, sync::Arc};

use time::{Duration, OffsetDateTime};

use super::{
    TestStores,
    cases::{RACERS, base_time},
};
use crate::{
    AuthError,
    mail::{MailQueueStatus, NewQueuedMail, QueuedMail},
};

fn queued(key: &str, payload: &str, at: OffsetDateTime) -> NewQueuedMail {
    NewQueuedMail {
        key: key.to_owned(),
        payload: payload.to_owned(),
        created_at: at,
        not_before: at,
    }
}

fn at(seconds: i64) -> OffsetDateTime {
    base_time() + Duration::seconds(seconds)
}

/// The ids of `claimed`, in the order returned.
fn ids(claimed: &[QueuedMail]) -> Vec<i64> {
    claimed.iter().map(|mail| mail.id).collect()
}

/// A queued message is claimed once, as it was queued, with one attempt
/// counted and the claim's end set; a second claim finds nothing.
pub async fn queued_mail_is_claimed_once(stores: TestStores) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    let payload = r#"{"job":"password_reset","email":"ada@example.com"}"#;
    let id = queue
        .enqueue(queued("ada@example.com", payload, at(0)))
        .await?;
    assert_eq!(
        queue.claim_due(at(-1), at(59), 10).await?,
        [],
        "not due yet"
    );
    let claimed = queue.claim_due(at(0), at(60), 10).await?;
    assert_eq!(
        claimed,
        [QueuedMail {
            id,
            key: "ada@example.com".into(),
            payload: payload.into(),
            created_at: at(0),
            not_before: at(0),
            attempts: 1,
            claimed_until: Some(at(60)),
        }]
    );
    assert_eq!(
        queue.claim_due(at(1), at(61), 10).await?,
        [],
        "claimed already"
    );
    Ok(())
}

/// Ids rise in the order messages are queued; a claim returns them in
/// that order, at most `limit` of them, and a message is not claimed
/// before its `not_before`.
pub async fn queued_mail_is_claimed_in_order_and_by_limit(
    stores: TestStores,
) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    let mut queued_ids = Vec::new();
    for i in 0..5 {
        queued_ids.push(
            queue
                .enqueue(queued(&format!("k{i}@example.com"), "{}", at(0)))
                .await?,
        );
    }
    let mut later = queued("later@example.com", "{}", at(0));
    later.not_before = at(30);
    let later_id = queue.enqueue(later).await?;
    assert!(queued_ids.windows(2).all(|pair| pair[0] < pair[1]));
    assert!(queued_ids.iter().all(|id| *id < later_id));
    let first = queue.claim_due(at(0), at(60), 3).await?;
    assert_eq!(ids(&first), queued_ids[..3]);
    let rest = queue.claim_due(at(0), at(60), 10).await?;
    assert_eq!(ids(&rest), queued_ids[3..], "the later one is not due");
    assert_eq!(ids(&queue.claim_due(at(30), at(90), 10).await?), [later_id]);
    Ok(())
}

/// A claim holds until its end: the message is not claimed again before,
/// and is after (a worker that died while sending), one attempt more.
pub async fn claimed_mail_is_claimed_again_after_its_lease(
    stores: TestStores,
) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    let id = queue
        .enqueue(queued("ada@example.com", "{}", at(0)))
        .await?;
    assert_eq!(ids(&queue.claim_due(at(0), at(60), 10).await?), [id]);
    assert_eq!(queue.claim_due(at(59), at(119), 10).await?, []);
    let again = queue.claim_due(at(60), at(120), 10).await?;
    assert_eq!(ids(&again), [id]);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].claimed_until, Some(at(120)));
    Ok(())
}

/// `retry_later` releases the claim and hides the message until
/// `not_before`; it needs the current claim, so a worker whose claim
/// ended and was taken by another changes nothing.
pub async fn retried_mail_waits_until_not_before(stores: TestStores) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    let id = queue
        .enqueue(queued("ada@example.com", "{}", at(0)))
        .await?;
    let first = queue.claim_due(at(0), at(60), 10).await?.remove(0);
    assert!(queue.retry_later(&first, at(10)).await?);
    assert_eq!(queue.claim_due(at(9), at(69), 10).await?, []);
    let second = queue.claim_due(at(10), at(70), 10).await?.remove(0);
    assert_eq!((second.id, second.attempts), (id, 2));
    assert_eq!(second.not_before, at(10));
    assert!(
        !queue.retry_later(&first, at(20)).await?,
        "an ended claim does not reschedule"
    );
    assert_eq!(
        queue.claim_due(at(69), at(129), 10).await?,
        [],
        "the current claim still holds"
    );
    let mut unclaimed = second.clone();
    unclaimed.claimed_until = None;
    assert!(!queue.retry_later(&unclaimed, at(20)).await?);
    assert!(queue.retry_later(&second, at(100)).await?);
    assert_eq!(queue.claim_due(at(99), at(159), 10).await?, []);
    assert_eq!(ids(&queue.claim_due(at(100), at(160), 10).await?), [id]);
    Ok(())
}

/// `complete` deletes the message (sent or given up); completing it
/// again, or an unknown id, is `false`.
pub async fn completed_mail_is_gone(stores: TestStores) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    let id = queue
        .enqueue(queued("ada@example.com", "{}", at(0)))
        .await?;
    let claimed = queue.claim_due(at(0), at(60), 10).await?.remove(0);
    assert!(queue.complete(id).await?);
    assert!(!queue.complete(id).await?);
    assert!(!queue.complete(id + 1000).await?);
    assert!(!queue.retry_later(&claimed, at(1)).await?);
    assert_eq!(queue.claim_due(at(120), at(180), 10).await?, []);
    assert_eq!(
        queue.queue_status().await?,
        MailQueueStatus {
            queued: 0,
            oldest: None
        }
    );
    Ok(())
}

/// Of the messages with one key, only the oldest is claimed, also while
/// it waits for a retry; the next is claimed once it is gone.
pub async fn mail_of_one_key_goes_out_in_order(stores: TestStores) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    let a1 = queue.enqueue(queued("a@example.com", "a1", at(0))).await?;
    let a2 = queue.enqueue(queued("a@example.com", "a2", at(0))).await?;
    let b1 = queue.enqueue(queued("b@example.com", "b1", at(0))).await?;
    let claimed = queue.claim_due(at(0), at(60), 10).await?;
    assert_eq!(ids(&claimed), [a1, b1]);
    assert_eq!(queue.claim_due(at(1), at(61), 10).await?, [], "a1 is out");
    assert!(queue.retry_later(&claimed[0], at(30)).await?);
    assert_eq!(
        queue.claim_due(at(2), at(62), 10).await?,
        [],
        "a2 waits behind a1's retry"
    );
    assert_eq!(ids(&queue.claim_due(at(30), at(90), 10).await?), [a1]);
    assert!(queue.complete(a1).await?);
    let next = queue.claim_due(at(31), at(91), 10).await?;
    assert_eq!(ids(&next), [a2]);
    assert_eq!(next[0].payload, "a2");
    Ok(())
}

/// `cancel` deletes every message of a key, claimed or not, and no other.
pub async fn cancelled_mail_is_gone(stores: TestStores) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    queue.enqueue(queued("email_change:u1", "1", at(0))).await?;
    queue.enqueue(queued("email_change:u1", "2", at(1))).await?;
    let kept = queue.enqueue(queued("email_change:u2", "3", at(2))).await?;
    assert_eq!(queue.claim_due(at(5), at(65), 10).await?.len(), 2);
    assert_eq!(queue.cancel("email_change:u1").await?, 2);
    assert_eq!(queue.cancel("email_change:u1").await?, 0);
    assert_eq!(queue.cancel("nobody").await?, 0);
    assert_eq!(
        queue.queue_status().await?,
        MailQueueStatus {
            queued: 1,
            oldest: Some(at(2))
        }
    );
    assert_eq!(ids(&queue.claim_due(at(100), at(160), 10).await?), [kept]);
    Ok(())
}

/// The status counts every message, claimed or not, and names the oldest;
/// a key outside the rules is refused.
pub async fn mail_queue_status_and_key_rules(stores: TestStores) -> Result<(), AuthError> {
    let queue = &stores.mail_queue;
    assert_eq!(
        queue.queue_status().await?,
        MailQueueStatus {
            queued: 0,
            oldest: None
        }
    );
    queue.enqueue(queued("b@example.com", "{}", at(5))).await?;
    queue.enqueue(queued("a@example.com", "{}", at(3))).await?;
    queue.claim_due(at(10), at(70), 1).await?;
    assert_eq!(
        queue.queue_status().await?,
        MailQueueStatus {
            queued: 2,
            oldest: Some(at(3))
        }
    );
    let long = "k".repeat(crate::mail::MAX_MAIL_KEY_BYTES);
    queue.enqueue(queued(&long, "{}", at(0))).await?;
    for bad in [String::new(), format!("{long}k")] {
        let refused = queue.enqueue(queued(&bad, "{}", at(0))).await;
        assert!(
            matches!(refused, Err(AuthError::Internal(_))),
            "{refused:?}"
        );
    }
    Ok(())
}

/// [`RACERS`] workers claim at once, over and over until the queue is
/// empty: every message is claimed by exactly one of them.
pub async fn racing_claims_take_each_mail_once(stores: TestStores) -> Result<(), AuthError> {
    const MESSAGES: usize = 120;
    let queue = Arc::clone(&stores.mail_queue);
    let mut queued_ids = HashSet::new();
    for i in 0..MESSAGES {
        queued_ids.insert(
            queue
                .enqueue(queued(&format!("racer{i}@example.com"), "{}", at(0)))
                .await?,
        );
    }
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                let mut mine = Vec::new();
                loop {
                    let claimed = queue.claim_due(at(1), at(600), 3).await?;
                    if claimed.is_empty() {
                        return Ok::<_, AuthError>(mine);
                    }
                    mine.extend(ids(&claimed));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for racer in racers {
        claimed.extend(racer.await.map_err(AuthError::internal)??);
    }
    let unique: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(
        claimed.len(),
        unique.len(),
        "a message was claimed by two workers"
    );
    assert_eq!(unique, queued_ids, "every message is claimed");
    Ok(())
}
