//! `gatehouse serve --demo`: the demo users exist as soon as it is up.

use gatehouse_testkit::serve::Serve;
use serde_json::json;

use crate::common::{get, me};

/// Run with `--demo`: one user per role, and the suspended one is refused.
pub async fn demo_users(serve: &Serve) {
    let admin = me(serve, &serve.mint("user_demo_admin")).await;
    assert_eq!(admin["userId"], "user_demo_admin");
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["authType"], "session");

    let manager = me(serve, &serve.mint("user_demo_manager")).await;
    assert_eq!(manager["role"], "manager");
    assert_eq!(
        manager["memberships"]["organizationIds"],
        json!(["org_demo"])
    );

    let signer = me(serve, &serve.mint("user_demo_signer")).await;
    assert_eq!(signer["role"], "signer");
    assert_eq!(signer["memberships"]["locationIds"], json!(["loc_demo_1"]));

    get(serve, "/v1/me", &serve.mint("user_demo_suspended"))
        .await
        .expect_error(401, "account_suspended", "account suspended");
}
