//! Conformance cases of [`CredentialStore`](crate::CredentialStore), but
//! for the races, which are in `credential_race_cases`. Re-exported by
//! [`cases`](super::cases).

use time::{Duration, OffsetDateTime};

use super::{
    TestStores,
    cases::{base_time, create_user},
};
use crate::{AuthError, Credential, CredentialId, CredentialKind, NewCredential, User, UserId};

pub(super) const PASSKEY: CredentialKind = CredentialKind::new("passkey");
pub(super) const BACKUP_CODE: CredentialKind = CredentialKind::new("backup_code");
pub(super) const EMAIL_CODE: CredentialKind = CredentialKind::new("email_code");

/// A credential of `kind` with `lookup`, owned by `owner`, created at
/// [`base_time`], never expiring.
pub(super) fn credential(
    kind: &CredentialKind,
    lookup: &str,
    owner: Option<&User>,
) -> Result<NewCredential, AuthError> {
    Ok(NewCredential {
        id: CredentialId::generate()?,
        kind: kind.clone(),
        lookup: lookup.to_owned(),
        user_id: owner.map(|user| user.id.clone()),
        data: format!("state of {lookup}").into_bytes(),
        created_at: base_time(),
        expires_at: None,
    })
}

/// Inserts `new`, which must not be taken, and checks what comes back.
pub(super) async fn insert(
    stores: &TestStores,
    new: NewCredential,
) -> Result<Credential, AuthError> {
    let inserted = stores.credentials.insert(new.clone()).await?;
    assert_eq!(inserted, Some(Credential::from(new)), "a fresh insert");
    inserted.ok_or_else(|| AuthError::internal("unreachable"))
}

fn minutes(n: i64) -> OffsetDateTime {
    base_time() + Duration::minutes(n)
}

/// An inserted credential is found by id and by kind and lookup, exactly
/// as stored (version 1, never used), owned or not; other kinds, lookups
/// and ids find nothing, and neither do ones no store can keep.
pub async fn credentials_are_stored_and_found(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-credential@example.com").await?;
    let passkey = NewCredential {
        data: vec![0, 159, 146, 150, 255],
        created_at: base_time() + Duration::seconds(3),
        expires_at: Some(minutes(60)),
        ..credential(&PASSKEY, "AAECAwQFBgcICQ", Some(&ada))?
    };
    let passkey = insert(&stores, passkey).await?;
    let code = NewCredential {
        data: Vec::new(),
        ..credential(&EMAIL_CODE, "nobody-yet@example.com", None)?
    };
    let code = insert(&stores, code).await?;

    let store = &stores.credentials;
    for stored in [&passkey, &code] {
        assert_eq!(store.get(&stored.id).await?.as_ref(), Some(stored));
        let found = store.find(&stored.kind, &stored.lookup).await?;
        assert_eq!(found.as_ref(), Some(stored));
    }
    assert_eq!(store.find(&BACKUP_CODE, &passkey.lookup).await?, None);
    assert_eq!(
        store.find(&PASSKEY, "aaecawqfbgcicq").await?,
        None,
        "lookups are compared byte for byte"
    );
    assert_eq!(store.get(&CredentialId::new("missing")).await?, None);
    assert_eq!(store.get(&CredentialId::new("a\0b")).await?, None);
    for lookup in ["", "a\0b", &"x".repeat(256)] {
        assert_eq!(store.find(&PASSKEY, lookup).await?, None, "{lookup:?}");
    }
    assert_eq!(
        store.find(&CredentialKind::new("Pass Key"), "x").await?,
        None
    );
    Ok(())
}

/// Reads do not filter by time: a credential past its `expires_at` (on
/// any clock) is still found until it is deleted.
pub async fn expired_credentials_are_still_read(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-expired-read@example.com").await?;
    let long_ago = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
    let old = NewCredential {
        created_at: OffsetDateTime::UNIX_EPOCH,
        expires_at: Some(long_ago),
        ..credential(&BACKUP_CODE, "ada:old", Some(&ada))?
    };
    let old = insert(&stores, old).await?;
    assert!(old.is_expired_at(base_time()));
    let store = &stores.credentials;
    assert_eq!(store.get(&old.id).await?.as_ref(), Some(&old));
    assert_eq!(
        store.find(&BACKUP_CODE, "ada:old").await?.as_ref(),
        Some(&old)
    );
    assert_eq!(store.list(&ada.id, &BACKUP_CODE).await?, vec![old]);
    Ok(())
}

/// A second insert of a (kind, lookup) pair is `None` and leaves the
/// first alone, whoever owns either; the same lookup of another kind is
/// another credential.
pub async fn a_taken_lookup_is_not_inserted_again(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-taken@example.com").await?;
    let bob = create_user(&stores, "bob-taken@example.com").await?;
    let first = insert(&stores, credential(&PASSKEY, "key-1", Some(&ada))?).await?;
    for owner in [Some(&ada), Some(&bob), None] {
        let again = credential(&PASSKEY, "key-1", owner)?;
        assert_eq!(stores.credentials.insert(again).await?, None);
    }
    let found = stores.credentials.find(&PASSKEY, "key-1").await?;
    assert_eq!(found, Some(first), "the first credential must be kept");
    insert(&stores, credential(&BACKUP_CODE, "key-1", Some(&bob))?).await?;
    Ok(())
}

/// A credential owned by a user that does not exist is
/// [`AuthError::UserNotFound`], on insert and on replace, and is not
/// stored.
pub async fn credentials_need_an_existing_user(stores: TestStores) -> Result<(), AuthError> {
    for missing in ["missing", "a\0b"] {
        let new = NewCredential {
            user_id: Some(UserId::new(missing)),
            ..credential(&PASSKEY, "orphan", None)?
        };
        let inserted = stores.credentials.insert(new.clone()).await;
        assert!(
            matches!(inserted, Err(AuthError::UserNotFound)),
            "got {inserted:?}"
        );
        let replaced = stores.credentials.replace(new).await;
        assert!(
            matches!(replaced, Err(AuthError::UserNotFound)),
            "got {replaced:?}"
        );
    }
    assert_eq!(stores.credentials.find(&PASSKEY, "orphan").await?, None);
    Ok(())
}

/// A kind or lookup out of the rules of [`NewCredential::check`] is
/// [`AuthError::Internal`] on writes; the longest ones allowed are kept.
pub async fn credentials_out_of_the_rules_are_refused(stores: TestStores) -> Result<(), AuthError> {
    let long_kind = CredentialKind::from_stored("k".repeat(CredentialKind::MAX_LEN + 1));
    let refused = [
        credential(&long_kind, "x", None)?,
        credential(&CredentialKind::new("Pass Key"), "x", None)?,
        credential(&PASSKEY, "", None)?,
        credential(&PASSKEY, &"é".repeat(128), None)?,
        credential(&PASSKEY, "a\0b", None)?,
        NewCredential {
            id: CredentialId::new(""),
            ..credential(&PASSKEY, "x", None)?
        },
    ];
    for new in refused {
        let inserted = stores.credentials.insert(new.clone()).await;
        assert!(
            matches!(inserted, Err(AuthError::Internal(_))),
            "{new:?}: got {inserted:?}"
        );
        let replaced = stores.credentials.replace(new.clone()).await;
        assert!(
            matches!(replaced, Err(AuthError::Internal(_))),
            "{new:?}: got {replaced:?}"
        );
    }
    // 255 bytes of two-byte characters and one ASCII: limits count bytes.
    let longest_kind = CredentialKind::from_stored("k".repeat(CredentialKind::MAX_LEN));
    let longest_lookup = format!("{}a", "é".repeat(127));
    let longest = insert(&stores, credential(&longest_kind, &longest_lookup, None)?).await?;
    let found = stores
        .credentials
        .find(&longest_kind, &longest_lookup)
        .await?;
    assert_eq!(found, Some(longest));
    Ok(())
}

/// A replacement deletes the credential with its kind and lookup and
/// stores the new one, also where there was none; others stay. One that
/// fails leaves the older in place.
pub async fn a_replacement_voids_the_older_credential(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-replace@example.com").await?;
    let address = "someone@example.com";
    let store = &stores.credentials;
    let older = store
        .replace(credential(&EMAIL_CODE, address, None)?)
        .await?;
    let other = insert(&stores, credential(&EMAIL_CODE, "other@example.com", None)?).await?;
    let passkey = insert(&stores, credential(&PASSKEY, address, Some(&ada))?).await?;
    assert!(
        store
            .update(&older.id, 1, b"attempt", Some(minutes(1)))
            .await?
    );

    let newer = NewCredential {
        created_at: minutes(2),
        expires_at: Some(minutes(12)),
        ..credential(&EMAIL_CODE, address, Some(&ada))?
    };
    let newer = store.replace(newer.clone()).await?;
    assert_eq!(newer.version, 1, "a replacement starts afresh");
    assert_eq!(newer.last_used_at, None);
    assert_eq!(store.get(&older.id).await?, None, "the older must be void");
    assert!(!store.consume(&older.id, 2).await?);
    assert_eq!(
        store.find(&EMAIL_CODE, address).await?.as_ref(),
        Some(&newer)
    );
    assert_eq!(store.get(&newer.id).await?.as_ref(), Some(&newer));
    assert_eq!(store.get(&other.id).await?, Some(other));
    assert_eq!(store.get(&passkey.id).await?, Some(passkey));

    let failing = NewCredential {
        user_id: Some(UserId::new("missing")),
        ..credential(&EMAIL_CODE, address, None)?
    };
    assert!(store.replace(failing).await.is_err());
    assert_eq!(store.find(&EMAIL_CODE, address).await?, Some(newer));
    Ok(())
}

/// A user's credentials of one kind are listed oldest first, ties by id
/// compared bytewise; other kinds, users and owner-less ones are not.
pub async fn credentials_are_listed_oldest_first(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-list@example.com").await?;
    let bob = create_user(&stores, "bob-list@example.com").await?;
    let at = |seconds, id: &str, lookup: &str| -> Result<NewCredential, AuthError> {
        Ok(NewCredential {
            id: CredentialId::new(id),
            created_at: base_time() + Duration::seconds(seconds),
            ..credential(&PASSKEY, lookup, Some(&ada))?
        })
    };
    // Inserted out of order; "tie-Z" sorts before "tie-a" bytewise, after
    // it in most locales.
    let newest = insert(&stores, at(30, "newest", "k3")?).await?;
    let tie_a = insert(&stores, at(20, "tie-a", "k2a")?).await?;
    let oldest = insert(&stores, at(10, "oldest", "k1")?).await?;
    let tie_upper = insert(&stores, at(20, "tie-Z", "k2z")?).await?;
    insert(&stores, credential(&BACKUP_CODE, "ada-code", Some(&ada))?).await?;
    insert(&stores, credential(&PASSKEY, "bob-key", Some(&bob))?).await?;
    insert(&stores, credential(&PASSKEY, "no-owner", None)?).await?;

    let listed = stores.credentials.list(&ada.id, &PASSKEY).await?;
    assert_eq!(listed, vec![oldest, tie_upper, tie_a, newest]);
    let store = &stores.credentials;
    assert!(store.list(&ada.id, &EMAIL_CODE).await?.is_empty());
    assert!(
        store
            .list(&UserId::new("missing"), &PASSKEY)
            .await?
            .is_empty()
    );
    assert!(store.list(&UserId::new("a\0b"), &PASSKEY).await?.is_empty());
    Ok(())
}

/// An update is a compare-and-swap on the version: it replaces `data`,
/// raises the version, sets `last_used_at` (`None` keeps it); a stale or
/// unknown version, or an unknown id, changes nothing.
pub async fn credential_updates_compare_the_version(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-update@example.com").await?;
    let totp = credential(&CredentialKind::new("totp"), "ada", Some(&ada))?;
    let stored = insert(&stores, totp).await?;
    let store = &stores.credentials;

    assert!(
        store
            .update(&stored.id, 1, b"step 1", Some(minutes(1)))
            .await?
    );
    let expected = Credential {
        data: b"step 1".to_vec(),
        version: 2,
        last_used_at: Some(minutes(1)),
        ..stored.clone()
    };
    assert_eq!(store.get(&stored.id).await?.as_ref(), Some(&expected));
    for stale in [0, 1, 3, u64::MAX] {
        assert!(
            !store.update(&stored.id, stale, b"lost", None).await?,
            "{stale}"
        );
    }
    assert!(store.update(&stored.id, 2, b"step 2", None).await?);
    let expected = Credential {
        data: b"step 2".to_vec(),
        version: 3,
        ..expected
    };
    assert_eq!(
        store.get(&stored.id).await?,
        Some(expected),
        "None keeps it"
    );
    for unknown in ["missing", "a\0b"] {
        let id = CredentialId::new(unknown);
        assert!(!store.update(&id, 1, b"x", None).await?);
    }
    Ok(())
}

/// A credential is consumed once, only at its current version; after that
/// its lookup is free again.
pub async fn credentials_are_consumed_once(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-consume@example.com").await?;
    let code = insert(&stores, credential(&BACKUP_CODE, "ada:1", Some(&ada))?).await?;
    let store = &stores.credentials;
    assert!(store.update(&code.id, 1, b"counted", None).await?);
    assert!(!store.consume(&code.id, 1).await?, "a stale version");
    assert!(store.get(&code.id).await?.is_some(), "and it stays");
    assert!(store.consume(&code.id, 2).await?);
    assert!(!store.consume(&code.id, 2).await?, "once");
    assert_eq!(store.get(&code.id).await?, None);
    assert_eq!(store.find(&BACKUP_CODE, "ada:1").await?, None);
    assert!(!store.consume(&CredentialId::new("a\0b"), 1).await?);
    insert(&stores, credential(&BACKUP_CODE, "ada:1", Some(&ada))?).await?;
    Ok(())
}

/// Deleting one credential needs its owner: another user's, or one with
/// no owner, is left alone and reported as not deleted.
pub async fn deleting_a_credential_needs_its_owner(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-delete-key@example.com").await?;
    let bob = create_user(&stores, "bob-delete-key@example.com").await?;
    let adas = insert(&stores, credential(&PASSKEY, "ada-key", Some(&ada))?).await?;
    let ownerless = insert(&stores, credential(&EMAIL_CODE, "x@example.com", None)?).await?;
    let store = &stores.credentials;
    assert!(!store.delete(&bob.id, &adas.id).await?);
    assert_eq!(store.get(&adas.id).await?.as_ref(), Some(&adas));
    assert!(!store.delete(&ada.id, &ownerless.id).await?);
    assert!(store.get(&ownerless.id).await?.is_some());
    assert!(store.delete(&ada.id, &adas.id).await?);
    assert!(!store.delete(&ada.id, &adas.id).await?);
    assert_eq!(store.get(&adas.id).await?, None);
    assert!(
        !store
            .delete(&UserId::new("a\0b"), &CredentialId::new("a\0b"))
            .await?
    );
    Ok(())
}

/// Deleting a user's credentials of one kind counts them and spares their
/// other kinds, other users' and owner-less ones.
pub async fn a_users_credentials_of_a_kind_are_deleted(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-delete-kind@example.com").await?;
    let bob = create_user(&stores, "bob-delete-kind@example.com").await?;
    for n in 0..3 {
        let lookup = format!("ada:{n}");
        insert(&stores, credential(&BACKUP_CODE, &lookup, Some(&ada))?).await?;
    }
    let kept = [
        insert(&stores, credential(&PASSKEY, "ada-key", Some(&ada))?).await?,
        insert(&stores, credential(&BACKUP_CODE, "bob:0", Some(&bob))?).await?,
        insert(&stores, credential(&BACKUP_CODE, "nobody", None)?).await?,
    ];
    let store = &stores.credentials;
    assert_eq!(store.delete_for_user(&ada.id, &BACKUP_CODE).await?, 3);
    assert_eq!(store.delete_for_user(&ada.id, &BACKUP_CODE).await?, 0);
    assert!(store.list(&ada.id, &BACKUP_CODE).await?.is_empty());
    for credential in kept {
        assert_eq!(store.get(&credential.id).await?, Some(credential));
    }
    let missing = UserId::new("a\0b");
    assert_eq!(store.delete_for_user(&missing, &BACKUP_CODE).await?, 0);
    Ok(())
}

/// Cleanup deletes the credentials that expired before the cutoff, owned
/// or not, and keeps the rest, those that never expire included.
pub async fn expired_credentials_are_deleted(stores: TestStores) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-cleanup@example.com").await?;
    let expiring = |lookup: &str, owner, at| -> Result<NewCredential, AuthError> {
        Ok(NewCredential {
            expires_at: at,
            ..credential(&EMAIL_CODE, lookup, owner)?
        })
    };
    let first = insert(&stores, expiring("a", Some(&ada), Some(minutes(1)))?).await?;
    let second = insert(&stores, expiring("b", None, Some(minutes(2)))?).await?;
    let kept = [
        insert(&stores, expiring("c", Some(&ada), Some(minutes(60)))?).await?,
        insert(&stores, expiring("d", Some(&ada), None)?).await?,
    ];
    let store = &stores.credentials;
    assert_eq!(
        store.delete_expired(minutes(1)).await?,
        0,
        "one expiring at the cutoff stays"
    );
    assert_eq!(store.delete_expired(minutes(3)).await?, 2);
    assert_eq!(store.delete_expired(minutes(3)).await?, 0);
    assert_eq!(store.get(&first.id).await?, None);
    assert_eq!(store.get(&second.id).await?, None);
    for credential in kept {
        assert_eq!(store.get(&credential.id).await?, Some(credential));
    }
    Ok(())
}

/// Deleting a user deletes the credentials they own, freeing their
/// lookups; other users' and owner-less ones stay.
pub async fn deleting_a_user_deletes_their_credentials(
    stores: TestStores,
) -> Result<(), AuthError> {
    let ada = create_user(&stores, "ada-cascade@example.com").await?;
    let bob = create_user(&stores, "bob-cascade@example.com").await?;
    let adas = [
        insert(&stores, credential(&PASSKEY, "ada-key", Some(&ada))?).await?,
        insert(&stores, credential(&BACKUP_CODE, "ada:0", Some(&ada))?).await?,
    ];
    let kept = [
        insert(&stores, credential(&PASSKEY, "bob-key", Some(&bob))?).await?,
        insert(
            &stores,
            credential(&EMAIL_CODE, "ada-cascade@example.com", None)?,
        )
        .await?,
    ];
    assert!(stores.users.delete_user(&ada.id).await?);
    let store = &stores.credentials;
    for gone in &adas {
        assert_eq!(store.get(&gone.id).await?, None, "{gone:?}");
        assert_eq!(store.find(&gone.kind, &gone.lookup).await?, None);
        assert!(store.list(&ada.id, &gone.kind).await?.is_empty());
    }
    for credential in kept {
        assert_eq!(store.get(&credential.id).await?, Some(credential));
    }
    insert(&stores, credential(&PASSKEY, "ada-key", Some(&bob))?).await?;
    Ok(())
}
