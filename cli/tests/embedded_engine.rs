//! The embedded engine answers only requests signed with its state folder's own credentials (README,
//! "What `serve` emulates"). It has no socket at all (see the e2e scenario `only_the_api_listens`); inside the
//! process, a client configured with other credentials is refused as DynamoDB refuses it, and
//! nothing it asked for happens.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
use aws_sdk_dynamodb::types::AttributeValue;
use gatehouse_cli::embedded::{CREDENTIALS_FILE, Embedded, TABLE};
use gatehouse_cli::home::Home;
use gatehouse_cli::sigv4::EngineCredentials;

fn temporary_home(tag: &str) -> Home {
    Home::at(std::env::temp_dir().join(format!(
        "gatehouse-engine-{tag}-{}-{}",
        std::process::id(),
        gatehouse::apikey::generate_key_id().unwrap()
    )))
}

async fn put_marker(sdk: &aws_config::SdkConfig) -> Result<(), String> {
    aws_sdk_dynamodb::Client::new(sdk)
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S("USER#intruder".into()))
        .item("sk", AttributeValue::S("PROFILE".into()))
        .item("role", AttributeValue::S("admin".into()))
        .send()
        .await
        .map(drop)
        .map_err(|error| error.code().unwrap_or("no code").to_owned())
}

#[tokio::test]
async fn requests_signed_with_other_credentials_are_refused() {
    let home = temporary_home("creds");
    let engine = Embedded::start(&home).await.unwrap();
    let store = engine.store().await.unwrap();

    let file = std::fs::read_to_string(home.file(CREDENTIALS_FILE)).unwrap();
    let (id, secret) = file.trim().split_once(' ').unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.file(CREDENTIALS_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let stranger = EngineCredentials {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
    };
    let guessed_id = EngineCredentials {
        access_key_id: id.to_owned(),
        secret_access_key: "0".repeat(64),
    };
    let right = EngineCredentials {
        access_key_id: id.to_owned(),
        secret_access_key: secret.to_owned(),
    };
    assert_eq!(
        put_marker(&engine.sdk_config_signed_with(&stranger).await).await,
        Err("UnrecognizedClientException".to_owned())
    );
    assert_eq!(
        put_marker(&engine.sdk_config_signed_with(&guessed_id).await).await,
        Err("InvalidSignatureException".to_owned())
    );
    // Nothing was written by the refused requests.
    let intruder = gatehouse::store::AuthStore::user(&store, "intruder")
        .await
        .unwrap();
    assert_eq!(intruder, None);
    // The folder's own credentials are accepted, by any client that holds them.
    assert_eq!(
        put_marker(&engine.sdk_config_signed_with(&right).await).await,
        Ok(())
    );
    engine.shutdown().await;

    // The next engine on the folder uses the same credentials and sees the same data.
    let again = Embedded::start(&home).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(home.file(CREDENTIALS_FILE)).unwrap(),
        file
    );
    let found = aws_sdk_dynamodb::Client::new(again.sdk_config())
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S("USER#intruder".into()))
        .key("sk", AttributeValue::S("PROFILE".into()))
        .send()
        .await
        .unwrap();
    assert!(found.item.is_some());
    again.shutdown().await;
    let _removed = std::fs::remove_dir_all(home.dir());
}
