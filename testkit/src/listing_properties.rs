//! The in-memory store's listings equal DynamoDB's, for random data and random page walks: the
//! property behind every route test that runs on `MemoryStore` instead of a real engine. Run on
//! DynamoDB Local (`shared/tests/store_dynamodb.rs`) and on the embedded engine
//! (`cli/tests/store_embedded.rs`): each case seeds the same random organizations, companies,
//! locations, templates and packages (ids drawn from a small alphabet so sort order, prefixes of one
//! another and `-`/`_` collide) into a fresh DynamoDB table and a `MemoryStore`, then walks every
//! listing with random page sizes and compares every page, items and cursors alike.

use std::future::Future;

use gatehouse::store::dynamo::DynamoStore;
use gatehouse::store::memory::MemoryStore;
use gatehouse::store::{
    Company, Document, Location, Organization, Package, Page, PageRequest, ResourceStore, Template,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Ids that sort in interesting ways against each other: case, digits, `-` and `_`, prefixes.
fn id() -> impl Strategy<Value = String> {
    "[aAzZ0-9_-]{1,3}"
}

/// A random world: organizations, and companies, locations, templates and packages under them.
#[derive(Debug, Clone)]
pub struct World {
    organizations: Vec<Organization>,
    companies: Vec<Company>,
    locations: Vec<Location>,
    templates: Vec<Template>,
    packages: Vec<Package>,
}

fn world() -> impl Strategy<Value = World> {
    (
        prop::collection::btree_set(id(), 1..6),
        prop::collection::vec((id(), any::<prop::sample::Index>()), 0..10),
        prop::collection::vec((id(), any::<prop::sample::Index>()), 0..14),
        prop::collection::vec((id(), any::<prop::sample::Index>()), 0..6),
        prop::collection::vec(
            (
                id(),
                any::<prop::sample::Index>(),
                prop::collection::vec(prop::sample::select(vec!["u_a", "u_b", "u_c"]), 1..3),
            ),
            0..12,
        ),
    )
        .prop_map(|(orgs, companies, locations, templates, packages)| {
            let organizations: Vec<Organization> = orgs
                .into_iter()
                .map(|id| Organization {
                    name: format!("org {id}"),
                    id: format!("o{id}"),
                })
                .collect();
            let mut world = World {
                organizations,
                companies: Vec::new(),
                locations: Vec::new(),
                templates: Vec::new(),
                packages: Vec::new(),
            };
            for (id, org) in companies {
                let organization = org.get(&world.organizations);
                world.companies.push(Company {
                    id: format!("c{id}"),
                    organization_id: organization.id.clone(),
                    name: format!("company {id}"),
                });
            }
            // One record per id: re-seeding an id elsewhere is not what this property is about.
            fn distinct<T>(items: &mut Vec<T>, id: impl Fn(&T) -> String) {
                let mut seen = std::collections::BTreeSet::new();
                items.retain(|item| seen.insert(id(item)));
            }
            distinct(&mut world.companies, |c| c.id.clone());
            let companies = world.companies.clone();
            if !companies.is_empty() {
                for (id, company) in locations {
                    let company = company.get(&companies);
                    world.locations.push(Location {
                        id: format!("l{id}"),
                        company_id: company.id.clone(),
                        organization_id: company.organization_id.clone(),
                        name: format!("location {id}"),
                    });
                }
            }
            for (id, org) in templates {
                world.templates.push(Template {
                    id: format!("t{id}"),
                    organization_id: org.get(&world.organizations).id.clone(),
                    name: format!("template {id}"),
                });
            }
            distinct(&mut world.locations, |l| l.id.clone());
            distinct(&mut world.templates, |t| t.id.clone());
            let locations = world.locations.clone();
            if !locations.is_empty() {
                for (id, location, signers) in packages {
                    let location = location.get(&locations);
                    let mut signers: Vec<String> = signers.into_iter().map(str::to_owned).collect();
                    signers.dedup();
                    world.packages.push(Package {
                        id: format!("p{id}"),
                        location_id: location.id.clone(),
                        company_id: location.company_id.clone(),
                        organization_id: location.organization_id.clone(),
                        title: format!("package {id}"),
                        signers,
                        documents: vec![Document {
                            id: format!("d{id}"),
                            name: "a.pdf".into(),
                        }],
                        created_at: 1_750_000_000,
                    });
                }
            }
            distinct(&mut world.packages, |p| p.id.clone());
            world
        })
}

async fn seed<S: ResourceStore>(store: &S, world: &World) {
    // Later records with the same id replace earlier ones, in both stores alike.
    for organization in &world.organizations {
        store.put_organization(organization).await.unwrap();
    }
    for company in &world.companies {
        store.put_company(company).await.unwrap();
    }
    for location in &world.locations {
        store.put_location(location).await.unwrap();
    }
    for template in &world.templates {
        store.put_template(template).await.unwrap();
    }
    for package in &world.packages {
        store.put_package(package).await.unwrap();
    }
}

/// Walks one listing page by page with `limits` (cycled) on both stores; panics on the first page
/// that differs. Returns how many pages were compared.
async fn compare<T, F, G, FutM, FutD>(
    what: &str,
    limits: &[usize],
    mut memory: F,
    mut dynamo: G,
) -> usize
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut(PageRequest) -> FutM,
    G: FnMut(PageRequest) -> FutD,
    FutM: Future<Output = Page<T>>,
    FutD: Future<Output = Page<T>>,
{
    let mut request = PageRequest::first(limits[0]);
    let mut step = 0;
    loop {
        let expected = memory(request.clone()).await;
        let got = dynamo(request.clone()).await;
        assert_eq!(
            got.items, expected.items,
            "{what}, page {step} ({request:?})"
        );
        assert_eq!(got.next, expected.next, "{what}, cursor after page {step}");
        step += 1;
        match expected.next {
            Some(cursor) => request = PageRequest::after(limits[step % limits.len()], cursor),
            None => return step,
        }
    }
}

/// Runs `cases` random worlds; `fresh` gives an empty DynamoDB store per case.
pub fn memory_listings_equal_dynamodb<F, Fut>(cases: u32, fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = DynamoStore>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let limits = prop::collection::vec(1usize..5, 1..4);
    runner
        .run(&(world(), limits), |(world, limits)| {
            runtime.block_on(async {
                let memory = MemoryStore::new();
                let dynamo = fresh().await;
                seed(&memory, &world).await;
                seed(&dynamo, &world).await;
                let (m, d) = (&memory, &dynamo);
                compare("organizations", &limits, |p| async move {
                    m.organizations(p).await.unwrap()
                }, |p| async move { d.organizations(p).await.unwrap() })
                .await;
                for organization in world.organizations.iter().map(|o| o.id.as_str()).chain(["onone"]) {
                    compare("companies", &limits, |p| async move {
                        m.companies_of(organization, p).await.unwrap()
                    }, |p| async move { d.companies_of(organization, p).await.unwrap() })
                    .await;
                    compare("locations of an organization", &limits, |p| async move {
                        m.locations_of_organization(organization, p).await.unwrap()
                    }, |p| async move { d.locations_of_organization(organization, p).await.unwrap() })
                    .await;
                    compare("templates", &limits, |p| async move {
                        m.templates_of(organization, p).await.unwrap()
                    }, |p| async move { d.templates_of(organization, p).await.unwrap() })
                    .await;
                }
                for company in world.companies.iter().map(|c| c.id.as_str()).chain(["cnone"]) {
                    compare("locations of a company", &limits, |p| async move {
                        m.locations_of_company(company, p).await.unwrap()
                    }, |p| async move { d.locations_of_company(company, p).await.unwrap() })
                    .await;
                }
                for location in world.locations.iter().map(|l| l.id.as_str()).chain(["lnone"]) {
                    compare("packages at a location", &limits, |p| async move {
                        m.packages_at(location, p).await.unwrap()
                    }, |p| async move { d.packages_at(location, p).await.unwrap() })
                    .await;
                }
                for signer in ["u_a", "u_b", "u_c", "u_none"] {
                    compare("packages of a signer", &limits, |p| async move {
                        m.packages_of_signer(signer, p).await.unwrap()
                    }, |p| async move { d.packages_of_signer(signer, p).await.unwrap() })
                    .await;
                }
            });
            Ok(())
        })
        .unwrap();
}
