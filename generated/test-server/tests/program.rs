//! The `people-test-server` program: seeded from the shipped `seed.json`, on a port the OS
//! chooses, serving the People client.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use google_people_v1::auth::StaticToken;
use google_people_v1::PeopleClient;

/// Kills the server however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the program and returns it with the lines it printed up to and including the one
/// that gives its URL.
fn start(args: &[&str]) -> (Running, Vec<String>) {
    let child = Command::new(env!("CARGO_BIN_EXE_people-test-server"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the program starts");
    let mut running = Running(child);
    let stdout = running.0.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let done = line.contains("listening on http://");
        lines.push(line);
        if done {
            return (running, lines);
        }
    }
    panic!("the program ended without a URL: {lines:?}");
}

#[tokio::test]
async fn serves_the_seeded_contacts_and_groups() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/seed.json");
    let (_server, lines) = start(&["--port", "0", "--seed", seed]);
    assert!(lines.contains(&"seeded people/c1".to_owned()), "{lines:?}");
    assert!(lines.contains(&"seeded contactGroups/bookClub".to_owned()), "{lines:?}");
    let url = lines.last().unwrap().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0/"), "{url}");

    let client = PeopleClient::builder().base_url(url).token_provider(StaticToken::new("any")).build().unwrap();
    let ada = client.people().get("people/c1", "names,memberships").send().await.unwrap();
    assert_eq!(ada.names[0].given_name.as_deref(), Some("Ada"));
    // Derived by the server on every read, as Google does.
    assert_eq!(ada.names[0].display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ada.names[0].display_name_last_first.as_deref(), Some("Lovelace, Ada"));
    let groups: Vec<Option<String>> = ada
        .memberships
        .iter()
        .filter_map(|m| m.contact_group_membership.as_ref())
        .map(|m| m.contact_group_resource_name.clone())
        .collect();
    assert_eq!(groups, [Some("contactGroups/myContacts".to_owned()), Some("contactGroups/bookClub".to_owned())]);
    let page = client.contact_groups().list().send().await.unwrap();
    let names: Vec<_> = page.contact_groups.iter().filter_map(|g| g.name.as_deref()).collect();
    assert!(names.contains(&"Book club") && names.contains(&"Chess"), "{names:?}");
}

#[test]
fn a_bad_seed_stops_the_program_with_the_entry_at_fault() {
    let dir = std::env::temp_dir().join(format!("people-test-server-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    std::fs::write(&seed, r#"{"contacts": [{"names": [{"givenName": "A"}, {"givenName": "B"}]}]}"#).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_people-test-server"))
        .args(["--port", "0", "--seed"])
        .arg(&seed)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("contacts[0]: Only one names value"), "{stderr}");
}
