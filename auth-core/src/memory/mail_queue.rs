//! [`MailQueue`] for [`MemoryStore`]: the messages in a map by id, so in
//! the order they were queued. Each method takes the store's one lock
//! once, so a claim is atomic.

use std::collections::HashSet;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStore;
use crate::{
    AuthError,
    mail::{MailQueueStatus, NewQueuedMail, QueuedMail},
    store::MailQueue,
};

#[async_trait]
impl MailQueue for MemoryStore {
    async fn enqueue(&self, mail: NewQueuedMail) -> Result<i64, AuthError> {
        mail.check()?;
        let mut state = self.lock();
        state.last_mail_id += 1;
        let id = state.last_mail_id;
        state.mail.insert(
            id,
            QueuedMail {
                id,
                key: mail.key,
                payload: mail.payload,
                created_at: mail.created_at,
                not_before: mail.not_before,
                attempts: 0,
                claimed_until: None,
            },
        );
        Ok(id)
    }

    async fn claim_due(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, AuthError> {
        let mut state = self.lock();
        let mut seen_keys = HashSet::new();
        let mut due = Vec::new();
        for mail in state.mail.values() {
            if due.len() >= limit as usize {
                break;
            }
            // Only the oldest message of a key is ever a candidate.
            if !seen_keys.insert(mail.key.clone()) {
                continue;
            }
            let free = mail.claimed_until.is_none_or(|claim| claim <= now);
            if mail.not_before <= now && free {
                due.push(mail.id);
            }
        }
        let mut claimed = Vec::with_capacity(due.len());
        for id in due {
            if let Some(mail) = state.mail.get_mut(&id) {
                mail.attempts = mail.attempts.saturating_add(1);
                mail.claimed_until = Some(until);
                claimed.push(mail.clone());
            }
        }
        Ok(claimed)
    }

    async fn complete(&self, id: i64) -> Result<bool, AuthError> {
        Ok(self.lock().mail.remove(&id).is_some())
    }

    async fn retry_later(
        &self,
        claimed: &QueuedMail,
        not_before: OffsetDateTime,
    ) -> Result<bool, AuthError> {
        let mut state = self.lock();
        match state.mail.get_mut(&claimed.id) {
            Some(mail)
                if claimed.claimed_until.is_some()
                    && mail.claimed_until == claimed.claimed_until =>
            {
                mail.claimed_until = None;
                mail.not_before = not_before;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn cancel(&self, key: &str) -> Result<u64, AuthError> {
        let mut state = self.lock();
        let before = state.mail.len();
        state.mail.retain(|_, mail| mail.key != key);
        Ok((before - state.mail.len()) as u64)
    }

    async fn queue_status(&self) -> Result<MailQueueStatus, AuthError> {
        let state = self.lock();
        Ok(MailQueueStatus {
            queued: state.mail.len() as u64,
            oldest: state.mail.values().map(|mail| mail.created_at).min(),
        })
    }
}
