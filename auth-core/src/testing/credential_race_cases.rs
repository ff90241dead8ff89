//! Conformance cases of [`CredentialStore`](crate::CredentialStore) under
//! races: [`RACERS`] tasks on the multi-threaded runtime, started together
//! at a barrier. Re-exported by [`cases`](super::cases).

use std::{future::Future, sync::Arc};

use super::{
    TestStores,
    cases::{RACERS, create_user},
    credential_cases::{BACKUP_CODE, EMAIL_CODE, PASSKEY, credential, insert},
};
use crate::{AuthError, CredentialId};

/// Runs `race(stores, i)` for `i` in `0..RACERS` at once; their outcomes,
/// in order of `i`.
async fn race<Race, RaceFut, T>(stores: &TestStores, race: Race) -> Result<Vec<T>, AuthError>
where
    Race: Fn(TestStores, usize) -> RaceFut,
    RaceFut: Future<Output = Result<T, AuthError>> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let racer = race(stores.clone(), i);
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                racer.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(RACERS);
    for racer in racers {
        outcomes.push(racer.await.map_err(AuthError::internal)??);
    }
    Ok(outcomes)
}

/// Of concurrent inserts of one (kind, lookup), exactly one gets `Some`,
/// and its credential is the one found.
pub async fn racing_credential_inserts_have_one_winner(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-race-insert@example.com").await?;
    let mut news = Vec::with_capacity(RACERS);
    for _ in 0..RACERS {
        news.push(credential(&PASSKEY, "raced-key", Some(&ada))?);
    }
    let news = Arc::new(news);
    let outcomes = race(&stores, |stores, i| {
        let new = news[i].clone();
        async move { stores.credentials.insert(new).await }
    })
    .await?;
    let winners: Vec<_> = outcomes.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "exactly one concurrent insert may win");
    let found = stores.credentials.find(&PASSKEY, "raced-key").await?;
    assert_eq!(found.as_ref(), winners.first());
    assert_eq!(stores.credentials.list(&ada.id, &PASSKEY).await?, winners);
    Ok(())
}

/// Of concurrent updates from one version, exactly one succeeds, and its
/// data is what is stored.
pub async fn racing_credential_updates_have_one_winner(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-race-update@example.com").await?;
    let stored = insert(&stores, credential(&PASSKEY, "counter", Some(&ada))?).await?;
    let id = stored.id.clone();
    let outcomes = race(&stores, |stores, i| {
        let id = id.clone();
        async move {
            let data = format!("update {i}").into_bytes();
            let won = stores.credentials.update(&id, 1, &data, None).await?;
            Ok((won, data))
        }
    })
    .await?;
    let winners: Vec<_> = outcomes.into_iter().filter(|(won, _)| *won).collect();
    assert_eq!(winners.len(), 1, "exactly one concurrent update may win");
    let now = stores.credentials.get(&id).await?;
    let now = now.ok_or_else(|| AuthError::internal("the credential is gone"))?;
    assert_eq!(now.version, 2);
    assert_eq!(Some(&now.data), winners.first().map(|(_, data)| data));
    Ok(())
}

/// Of concurrent consumptions of one credential (a backup code sent by
/// several requests at once), exactly one gets `true`.
pub async fn racing_credential_consumptions_have_one_winner(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-race-consume@example.com").await?;
    let code = insert(&stores, credential(&BACKUP_CODE, "ada:7", Some(&ada))?).await?;
    let id: CredentialId = code.id.clone();
    let outcomes = race(&stores, |stores, _| {
        let id = id.clone();
        async move { stores.credentials.consume(&id, 1).await }
    })
    .await?;
    let winners = outcomes.into_iter().filter(|won| *won).count();
    assert_eq!(winners, 1, "exactly one concurrent consumption may win");
    assert_eq!(stores.credentials.get(&code.id).await?, None);
    Ok(())
}

/// Concurrent replacements of one (kind, lookup) all succeed and leave
/// exactly one of their credentials.
pub async fn racing_credential_replacements_leave_one(stores: TestStores) -> Result<(), AuthError> {
    let mut news = Vec::with_capacity(RACERS);
    for _ in 0..RACERS {
        news.push(credential(&EMAIL_CODE, "raced@example.com", None)?);
    }
    let news = Arc::new(news);
    let outcomes = race(&stores, |stores, i| {
        let new = news[i].clone();
        async move { stores.credentials.replace(new).await }
    })
    .await?;
    let mut survivors = Vec::new();
    for replaced in outcomes {
        assert_eq!(replaced.version, 1);
        if let Some(survivor) = stores.credentials.get(&replaced.id).await? {
            survivors.push(survivor);
        }
    }
    assert_eq!(survivors.len(), 1, "exactly one replacement may survive");
    let found = stores
        .credentials
        .find(&EMAIL_CODE, "raced@example.com")
        .await?;
    assert_eq!(found.as_ref(), survivors.first());
    Ok(())
}
