//! `people-test-server [--host ADDR] [--port PORT] [--seed FILE]`: the in-memory People
//! server as a program, for running an application or the People client's examples against
//! it by hand. Prints its base URL and what it seeded, then serves until it is killed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use google_people_v1_test_server::PeopleServer;

const USAGE: &str = "\
usage: people-test-server [--host ADDR] [--port PORT] [--seed FILE]

An in-memory Google People API v1 server. Every request needs a bearer token, any token.

  --host ADDR   address to listen on [default: 127.0.0.1]
  --port PORT   port to listen on; 0 lets the OS choose [default: 8080]
  --seed FILE   JSON file of groups and contacts to start with:
                {\"groups\": [{\"name\": ...}], \"contacts\": [{\"names\": [...], ...}]}
                (resourceName optional on both)";

#[derive(Debug)]
struct Options {
    addr: SocketAddr,
    seed: Option<PathBuf>,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port: u16 = 8080;
    let mut seed = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--host" => host = value("--host")?.parse().map_err(|e| format!("--host: {e}"))?,
            "--port" => port = value("--port")?.parse().map_err(|e| format!("--port: {e}"))?,
            "--seed" => seed = Some(PathBuf::from(value("--seed")?)),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Some(Options { addr: SocketAddr::new(host, port), seed }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    // The seed is read and checked before the port is taken, so a typo fails at once.
    let seed = match &options.seed {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            Some((path, value))
        }
        None => None,
    };
    let server =
        PeopleServer::bind(options.addr).await.map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    if let Some((path, value)) = seed {
        let seeded = server.seed(&value).map_err(|e| format!("{}: {e}", path.display()))?;
        for name in seeded.groups.iter().chain(&seeded.contacts) {
            println!("seeded {name}");
        }
    }
    // The URL last and alone on its line: scripts and tests read it.
    println!("People test server listening on {}", server.url());
    std::future::pending::<()>().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_are_parsed_and_checked() {
        let options = parse(args("--port 0 --seed s.json")).unwrap().unwrap();
        assert_eq!(options.addr, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(options.seed, Some(PathBuf::from("s.json")));
        let options = parse(args("--host 0.0.0.0")).unwrap().unwrap();
        assert_eq!(options.addr, SocketAddr::from(([0, 0, 0, 0], 8080)));
        assert!(parse(args("--help")).unwrap().is_none());
        assert!(parse(args("--port")).unwrap_err().contains("needs a value"));
        assert!(parse(args("--port 70000")).unwrap_err().starts_with("--port"));
        assert!(parse(args("extra")).unwrap_err().contains("unexpected"));
    }
}
