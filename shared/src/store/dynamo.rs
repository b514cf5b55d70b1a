//! The DynamoDB implementation of the store: one table, single-table design, one `GetItem` per lookup,
//! strongly consistent, no scans.
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | API key | `APIKEY#<hmac hex>` | `APIKEY` | `keyId`, `userId`, `name`, `scopes` (list), `active`, `createdAt`, `expiresAt`, `tail`, `lastUsedAt`, `gsi1pk` = `USER#<userId>`, `gsi1sk` = `APIKEY#<createdAt, 12 digits>#<keyId>` |
//! | user | `USER#<userId>` | `PROFILE` | `userId`, `role`, `organizationIds`, `companyIds`, `locationIds` (lists), `suspended` |
//!
//! The `gsi1` index (all attributes projected) lists a user's keys newest first without a scan.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};

use super::{ApiKeyRecord, AuthStore, StoreError, UserRecord};
use crate::apikey::KeyHash;
use crate::principal::{Memberships, Role, Scopes, is_valid_id};

/// Name of the secondary index listing a user's items.
pub const GSI1: &str = "gsi1";

type Item = HashMap<String, AttributeValue>;

/// The store on a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn key_pk(hash: &KeyHash) -> String {
    format!("APIKEY#{}", hash.to_hex())
}

fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(&error).to_string())
}

impl DynamoStore {
    /// A store on `table` through `client` (built once per container).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Creates or replaces a user record.
    pub async fn put_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(user_item(user)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Stores a new key record; fails if one with the same hash exists.
    pub async fn put_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(api_key_item(record)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Creates the table (same schema as `template.yaml`) if it does not exist, and waits until it is
    /// active. Idempotent.
    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        let exists = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        if exists.is_ok() {
            return Ok(());
        }
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key("gsi1pk", KeyType::Hash)?)
            .key_schema(key("gsi1sk", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("gsi1pk")?)
            .attribute_definitions(attr("gsi1sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        if let Err(error) = created {
            let in_use = error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception());
            if !in_use {
                return Err(unavailable(error));
            }
        }
        for _ in 0..100 {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(unavailable)?;
            let active = described
                .table
                .and_then(|t| t.table_status)
                .is_some_and(|s| s == aws_sdk_dynamodb::types::TableStatus::Active);
            if active {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {} did not become active",
            self.table
        )))
    }
}

impl AuthStore for DynamoStore {
    async fn api_key_by_hash(&self, hash: &KeyHash) -> Result<Option<ApiKeyRecord>, StoreError> {
        match self.get(key_pk(hash), "APIKEY").await? {
            Some(item) => parse_api_key(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, StoreError> {
        match self.get(user_pk(user_id), "PROFILE").await? {
            Some(item) => parse_user(&item).map(Some),
            None => Ok(None),
        }
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn list(values: &[impl AsRef<str>]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_ref())).collect())
}

/// The item for a key record.
pub fn api_key_item(record: &ApiKeyRecord) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&key_pk(&record.key_hash)));
    item.insert("sk".into(), s("APIKEY"));
    item.insert("keyId".into(), s(&record.key_id));
    item.insert("userId".into(), s(&record.user_id));
    item.insert("name".into(), s(&record.name));
    item.insert("scopes".into(), list(&record.scopes.names()));
    item.insert("active".into(), AttributeValue::Bool(record.active));
    item.insert("createdAt".into(), n(record.created_at));
    if let Some(expires_at) = record.expires_at {
        item.insert("expiresAt".into(), n(expires_at));
    }
    if let Some(last_used_at) = record.last_used_at {
        item.insert("lastUsedAt".into(), n(last_used_at));
    }
    item.insert("tail".into(), s(&record.tail));
    item.insert("gsi1pk".into(), s(&user_pk(&record.user_id)));
    item.insert(
        "gsi1sk".into(),
        s(&format!(
            "APIKEY#{:012}#{}",
            record.created_at, record.key_id
        )),
    );
    item
}

/// The item for a user record.
pub fn user_item(user: &UserRecord) -> Item {
    let mut item = Item::new();
    item.insert("pk".into(), s(&user_pk(&user.user_id)));
    item.insert("sk".into(), s("PROFILE"));
    item.insert("userId".into(), s(&user.user_id));
    item.insert("role".into(), s(user.role.as_str()));
    item.insert(
        "organizationIds".into(),
        list(&user.memberships.organization_ids),
    );
    item.insert("companyIds".into(), list(&user.memberships.company_ids));
    item.insert("locationIds".into(), list(&user.memberships.location_ids));
    item.insert("suspended".into(), AttributeValue::Bool(user.suspended));
    item
}

struct Reader<'a> {
    item: &'a Item,
    key: &'a str,
}

impl Reader<'_> {
    fn corrupt(&self, problem: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            key: self.key.to_owned(),
            problem: problem.into(),
        }
    }

    fn string(&self, name: &str) -> Result<String, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::S(value)) => Ok(value.clone()),
            _ => Err(self.corrupt(format!("{name} missing or not a string"))),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::Bool(value)) => Ok(*value),
            _ => Err(self.corrupt(format!("{name} missing or not a boolean"))),
        }
    }

    fn number(&self, name: &str) -> Result<Option<i64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(format!("{name} is not an integer"))),
            _ => Err(self.corrupt(format!("{name} is not a number"))),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(text) => Ok(text.clone()),
                    _ => Err(self.corrupt(format!("{name} holds a non-string"))),
                })
                .collect(),
            Some(AttributeValue::Ss(values)) => Ok(values.clone()),
            _ => Err(self.corrupt(format!("{name} is not a list"))),
        }
    }

    fn ids(&self, name: &str) -> Result<Vec<String>, StoreError> {
        let ids = self.strings(name)?;
        if ids.iter().all(|id| is_valid_id(id)) {
            Ok(ids)
        } else {
            Err(self.corrupt(format!("{name} holds an invalid id")))
        }
    }
}

/// Parses a key item.
pub fn parse_api_key(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    let r = Reader {
        item,
        key: "APIKEY",
    };
    let pk = r.string("pk")?;
    let key_hash = pk
        .strip_prefix("APIKEY#")
        .and_then(KeyHash::from_hex)
        .ok_or_else(|| r.corrupt("pk is not APIKEY#<hash>"))?;
    let scope_names = r.strings("scopes")?;
    let scopes = Scopes::parse_list(scope_names.iter().map(String::as_str))
        .ok_or_else(|| r.corrupt("unknown scope"))?;
    Ok(ApiKeyRecord {
        key_id: r.string("keyId")?,
        user_id: r.string("userId")?,
        key_hash,
        name: r.string("name")?,
        scopes,
        active: r.boolean("active")?,
        created_at: r
            .number("createdAt")?
            .ok_or_else(|| r.corrupt("createdAt missing"))?,
        expires_at: r.number("expiresAt")?,
        tail: r.string("tail")?,
        last_used_at: r.number("lastUsedAt")?,
    })
}

/// Parses a user item.
pub fn parse_user(item: &Item) -> Result<UserRecord, StoreError> {
    let r = Reader { item, key: "USER" };
    let role = r.string("role")?;
    let role = match Role::parse(&role) {
        Some(Role::None) | None => return Err(r.corrupt("role is not signer, manager or admin")),
        Some(role) => role,
    };
    Ok(UserRecord {
        user_id: r.string("userId")?,
        role,
        memberships: Memberships {
            organization_ids: r.ids("organizationIds")?,
            company_ids: r.ids("companyIds")?,
            location_ids: r.ids("locationIds")?,
        },
        suspended: match item.get("suspended") {
            None => false,
            Some(_) => r.boolean("suspended")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::Pepper;

    fn record() -> ApiKeyRecord {
        ApiKeyRecord {
            key_id: "k_1".into(),
            user_id: "user_1".into(),
            key_hash: Pepper::new(b"0123456789abcdef").unwrap().hash("sf_x"),
            name: "ci".into(),
            scopes: Scopes {
                read: true,
                write: false,
            },
            active: true,
            created_at: 1_700_000_000,
            expires_at: Some(1_800_000_000),
            tail: "abcd".into(),
            last_used_at: None,
        }
    }

    #[test]
    fn key_items_round_trip() {
        let item = api_key_item(&record());
        assert_eq!(parse_api_key(&item).unwrap(), record());
        assert_eq!(item["gsi1sk"], s("APIKEY#001700000000#k_1"));
        assert!(
            !item
                .values()
                .any(|v| matches!(v, AttributeValue::S(text) if text.starts_with("sf_")))
        );
    }

    #[test]
    fn user_items_round_trip() {
        let user = UserRecord {
            user_id: "user_1".into(),
            role: Role::Manager,
            memberships: Memberships {
                organization_ids: vec!["org_1".into()],
                company_ids: vec![],
                location_ids: vec!["l".into()],
            },
            suspended: true,
        };
        assert_eq!(parse_user(&user_item(&user)).unwrap(), user);
    }

    #[test]
    fn corrupt_items_are_errors() {
        let mut item = api_key_item(&record());
        item.insert("active".into(), s("yes"));
        assert!(matches!(
            parse_api_key(&item),
            Err(StoreError::Corrupt { .. })
        ));
        let mut user = user_item(&UserRecord {
            user_id: "u".into(),
            role: Role::Admin,
            memberships: Memberships::default(),
            suspended: false,
        });
        user.insert("role".into(), s("root"));
        assert!(parse_user(&user).is_err());
        user.insert("role".into(), s("none"));
        assert!(parse_user(&user).is_err());
        user.insert("role".into(), s("admin"));
        user.insert("locationIds".into(), list(&["a,b"]));
        assert!(parse_user(&user).is_err());
    }
}
