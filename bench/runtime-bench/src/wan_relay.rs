//! `wan-relay CLIENT_NS SERVER_NS DEVICE ONE_WAY_MS`: the propagation delay of the WAN link.
//!
//! Each of the two network namespaces has a TUN device named DEVICE (made by xtask, with
//! its address, route and `tbf` qdisc). This process attaches to both and moves every IP
//! packet from one to the other after ONE_WAY_MS: one FIFO queue per direction, each packet
//! released at its arrival time plus the delay. Working on packets rather than on a TCP
//! stream keeps TCP end to end, so the client's and the server's TCP see the real round
//! trip (slow start, window growth, acknowledgement clocking, losses at the `tbf` queue),
//! which a stream relay would hide behind its own loopback connections. Bandwidth is the
//! `tbf` qdisc's, on each device's egress, before the delay: the relay never sleeps between
//! reads, so it adds no limit of its own.
//!
//! Counters per direction (IP bytes, packets, TCP SYNs opening connections) are printed as
//! one JSON line for each `stats` line read on stdin; the relay exits when stdin closes,
//! so it never outlives the xtask that started it.

use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counters {
    bytes: AtomicU64,
    packets: AtomicU64,
    syns: AtomicU64,
}

pub fn run(client_ns: &str, server_ns: &str, device: &str, one_way: Duration) {
    let home = File::open("/proc/self/ns/net").expect("open /proc/self/ns/net");
    let client = tun_in(client_ns, device);
    let server = tun_in(server_ns, device);
    set_netns(&home, "the original namespace");

    let up = Arc::new(Counters::default());
    let down = Arc::new(Counters::default());
    let (client_out, server_out) = (client.try_clone().expect("dup"), server.try_clone().expect("dup"));
    forward(client, server_out, one_way, Arc::clone(&up));
    forward(server, client_out, one_way, Arc::clone(&down));
    println!("ready");
    std::io::stdout().flush().expect("flush");

    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "stats" {
            let get = |c: &Counters| {
                (c.bytes.load(Ordering::Relaxed), c.packets.load(Ordering::Relaxed), c.syns.load(Ordering::Relaxed))
            };
            let ((ub, up_p, us), (db, dp, _)) = (get(&up), get(&down));
            println!(
                "{{\"up_bytes\":{ub},\"up_packets\":{up_p},\"syns\":{us},\"down_bytes\":{db},\"down_packets\":{dp}}}"
            );
            std::io::stdout().flush().expect("flush");
        }
    }
}

/// Opens `/dev/net/tun` inside `ns` and attaches to its device `name`. Must run before any
/// thread is spawned: `setns` moves only the calling thread.
fn tun_in(ns: &str, name: &str) -> File {
    let target = File::open(format!("/var/run/netns/{ns}")).unwrap_or_else(|e| panic!("namespace {ns}: {e}"));
    set_netns(&target, ns);
    let tun = File::options().read(true).write(true).open("/dev/net/tun").expect("open /dev/net/tun");
    #[repr(C)]
    struct IfReq {
        name: [u8; 16],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    let mut req = IfReq { name: [0; 16], flags: (libc::IFF_TUN | libc::IFF_NO_PI) as libc::c_short, _pad: [0; 22] };
    assert!(name.len() < 16, "device name too long");
    req.name[..name.len()].copy_from_slice(name.as_bytes());
    const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
    // SAFETY: TUNSETIFF reads and writes the `ifreq` it is given, which lives for the call.
    let rc = unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF as _, &mut req) };
    assert!(rc == 0, "TUNSETIFF {name} in {ns}: {}", std::io::Error::last_os_error());
    tun
}

fn set_netns(ns: &File, what: &str) {
    // SAFETY: setns takes a namespace descriptor, borrowed for the call.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    assert!(rc == 0, "setns into {what}: {}", std::io::Error::last_os_error());
}

/// Packets read from `from` are written to `to` `delay` later, in order.
fn forward(mut from: File, mut to: File, delay: Duration, counters: Arc<Counters>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        loop {
            let n = match from.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading a TUN device: {e}"),
            };
            let due = Instant::now() + delay;
            let packet = &buf[..n];
            counters.bytes.fetch_add(n as u64, Ordering::Relaxed);
            counters.packets.fetch_add(1, Ordering::Relaxed);
            if is_syn(packet) {
                counters.syns.fetch_add(1, Ordering::Relaxed);
            }
            if tx.send((due, packet.to_vec())).is_err() {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, packet) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            // A packet the kernel refuses is a packet lost on the link, as on a real one.
            let _ = to.write(&packet);
        }
    });
}

/// An IPv4 TCP segment with SYN and without ACK: a connection being opened.
fn is_syn(packet: &[u8]) -> bool {
    if packet.len() < 20 || packet[0] >> 4 != 4 || packet[9] != 6 {
        return false;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    packet.get(ihl + 13).is_some_and(|flags| flags & 0x12 == 0x02)
}
