//! The resource routes: organizations, companies, locations, templates, packages, signing.

use gatehouse::routes::Route;
use gatehouse_testkit::samples;

use crate::{both_formats, sample, service, with_context};

#[tokio::test]
async fn an_admin_lists_and_reads_organizations() {
    let answer = sample(Route::ListOrganizations, "list-organizations.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["id"], "org_demo");
    assert_eq!(answer.body["nextCursor"], serde_json::Value::Null);

    let answer = sample(Route::GetOrganization, "get-organization.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], "org_demo");
    assert_eq!(answer.body["name"], "Demo Holdings");
}

#[tokio::test]
async fn a_company_manager_sees_its_company_locations_and_templates() {
    let answer = sample(Route::ListCompanies, "list-companies.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["id"], "co_demo_east");
    assert_eq!(answer.body["items"].as_array().unwrap().len(), 1);

    let answer = sample(Route::ListLocations, "list-locations.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["id"], "loc_demo_1");
    assert_eq!(answer.body["items"][0]["companyId"], "co_demo_east");

    let answer = sample(Route::ListTemplates, "list-templates.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["id"], "tpl_demo_nda");
}

#[tokio::test]
async fn packages_by_location_by_id_and_for_signing() {
    let answer = sample(Route::ListLocationPackages, "list-location-packages.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["id"], "pkg_demo_lease");
    assert_eq!(answer.body["items"][0]["documents"][0]["name"], "lease.pdf");

    let answer = sample(Route::GetPackage, "get-package.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["id"], "pkg_demo_lease");
    assert_eq!(answer.body["locationId"], "loc_demo_1");

    let answer = sample(Route::SigningSession, "signing-session.json").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["items"][0]["id"], "pkg_demo_lease");
    assert_eq!(
        answer.body["items"][0]["signers"],
        serde_json::json!(["user_dev_signer"])
    );
}

#[tokio::test]
async fn a_manager_creates_a_package_and_an_admin_may_not() {
    let service = service().await;
    let event = samples::load_event("create-package.json");
    let answer = both_formats(Route::CreatePackage, &service, &event, false).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert!(answer.body["id"].as_str().unwrap().starts_with("pkg_"));
    assert_eq!(answer.body["locationId"], "loc_demo_1");
    assert_eq!(answer.body["organizationId"], "org_demo");

    let admin = with_context(
        with_context(event, "userId", "user_dev_admin"),
        "role",
        "admin",
    );
    let answer = both_formats(Route::CreatePackage, &service, &admin, true).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["error"], "admin access is read-only");
}
