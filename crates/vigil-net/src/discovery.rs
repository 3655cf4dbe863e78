//! Finding other Vigil devices on the local network with mDNS/DNS-SD.
//!
//! An [`Announcement`] tells the local network that a Vigil device listens on a port;
//! [`browse`] listens for a while and returns the devices that answered. Discovery only
//! says *where* to dial: who is on the other end is proven by the TLS handshake of
//! [`Endpoint::connect`](crate::Endpoint::connect), never by anything said here.
//!
//! # Privacy
//!
//! Observers work where being identified is dangerous, and anyone on the same network
//! can read mDNS traffic. An announcement therefore carries nothing that names the
//! device, its owner or its team:
//!
//! - the service type is the constant [`SERVICE_TYPE`];
//! - the instance name is 16 random hex digits, drawn afresh at every
//!   [`Announcement::start`], so announcements cannot be linked to each other;
//! - the host name is another 16 random hex digits under `.local.`, never the machine's
//!   host name;
//! - the only TXT property is the protocol version `v=1`: no device key, fingerprint,
//!   team, label or user name;
//! - the addresses are the device's own addresses on each interface, which the network
//!   sees anyway, each only on its own interface.
//!
//! What cannot be hidden: the service type itself says "a Vigil device is here", to
//! anyone listening on the network, and so does browsing, whose queries ask for that
//! service type. Announcing and browsing must therefore both be under the user's
//! control: nothing is announced unless the caller starts an [`Announcement`], nothing
//! is asked unless the caller calls [`browse`], and both stop their mDNS daemon (its own
//! thread and sockets) when done. Stopping an announcement sends the mDNS "goodbye" so
//! that caches forget it at once.
//!
//! mDNS needs multicast, which some networks, sandboxes and containers do not carry:
//! then an announcement reaches nobody and [`browse`] finds nothing. Failures to start
//! the daemon are returned as [`NetError::Discovery`]; nothing here panics.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, SocketAddrV6};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mdns_sd::{
    DaemonEvent, DaemonStatus, Receiver, ScopedIp, ServiceDaemon, ServiceEvent, ServiceInfo,
};
use tracing::{debug, warn};

use crate::NetError;

/// The DNS-SD service type every Vigil device announces and browses for.
pub const SERVICE_TYPE: &str = "_vigil._udp.local.";

/// The one TXT property: the discovery protocol version.
const VERSION: (&str, &str) = ("v", "1");

/// How long [`Announcement::stop`] waits for the daemon to confirm it has stopped.
const STOP_WAIT: Duration = Duration::from_millis(500);

/// The full names of this process's live announcements, so that [`browse`] can leave
/// them out.
static OWN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn own() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    OWN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn discovery_error(context: &str, error: impl std::fmt::Display) -> NetError {
    NetError::Discovery(format!("{context}: {error}"))
}

/// 16 random hex digits from the thread's cryptographic generator.
fn random_label() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// An mDNS daemon (a thread and its sockets) that is shut down when dropped.
struct Daemon(ServiceDaemon);

impl Daemon {
    fn start() -> Result<Self, NetError> {
        ServiceDaemon::new()
            .map(Self)
            .map_err(|error| discovery_error("could not start the mDNS daemon", error))
    }

    /// Shuts the daemon down and waits up to `wait` for it to confirm.
    fn stop(&self, wait: Duration) -> Result<(), NetError> {
        let confirmation = match self.0.shutdown() {
            Ok(confirmation) => confirmation,
            // Its thread is gone already: nothing is announced any more.
            Err(mdns_sd::Error::DaemonShutdown) => return Ok(()),
            Err(error) => return Err(discovery_error("could not stop the mDNS daemon", error)),
        };
        match confirmation.recv_timeout(wait) {
            Ok(DaemonStatus::Shutdown) => Ok(()),
            Ok(status) => Err(NetError::Discovery(format!(
                "the mDNS daemon did not stop: {status:?}"
            ))),
            Err(error) => Err(discovery_error(
                "the mDNS daemon did not confirm it stopped",
                error,
            )),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // After `stop` the daemon is already gone and this fails harmlessly.
        if let Err(error) = self.0.shutdown() {
            debug!(%error, "mDNS daemon shutdown on drop");
        }
    }
}

/// The service record of one announcement: random names, the version property only,
/// addresses filled in by the daemon for each interface.
fn service_info(port: u16) -> Result<ServiceInfo, NetError> {
    let instance = random_label();
    let host = format!("{}.local.", random_label());
    ServiceInfo::new(SERVICE_TYPE, &instance, &host, (), port, &[VERSION][..])
        .map(ServiceInfo::enable_addr_auto)
        .map_err(|error| discovery_error("invalid service record", error))
}

/// Announces on the local network that a Vigil device listens on a port, until stopped
/// or dropped. See the [module documentation](self) for what it reveals.
pub struct Announcement {
    daemon: Daemon,
    fullname: String,
    monitor: Receiver<DaemonEvent>,
    announced: AtomicBool,
}

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcement")
            .field("fullname", &self.fullname)
            .finish_non_exhaustive()
    }
}

impl Announcement {
    /// Starts announcing that this device listens on UDP `port`, on every interface's
    /// addresses, under fresh random instance and host names. Runs on its own thread;
    /// needs no async runtime.
    pub fn start(port: u16) -> Result<Self, NetError> {
        let info = service_info(port)?;
        let fullname = info.get_fullname().to_owned();
        let daemon = Daemon::start()?;
        let monitor = daemon
            .0
            .monitor()
            .map_err(|error| discovery_error("could not watch the mDNS daemon", error))?;
        own().insert(fullname.to_lowercase());
        let announcement = Self {
            daemon,
            fullname,
            monitor,
            announced: AtomicBool::new(false),
        };
        // Known as ours before it goes out; dropped (and forgotten) if it cannot.
        announcement
            .daemon
            .0
            .register(info)
            .map_err(|error| discovery_error("could not announce", error))?;
        debug!(port, "announcing on the local network");
        Ok(announcement)
    }

    /// Whether the daemon has sent the announcement out on at least one network
    /// interface since [`start`](Self::start). Name probing takes about a second first;
    /// on a host without usable multicast interfaces this stays `false`.
    pub fn has_announced(&self) -> bool {
        while let Ok(event) = self.monitor.try_recv() {
            match event {
                DaemonEvent::Announce(..) => self.announced.store(true, Ordering::Relaxed),
                DaemonEvent::Error(error) => warn!(%error, "mDNS daemon"),
                _ => {}
            }
        }
        self.announced.load(Ordering::Relaxed)
    }

    /// Withdraws the announcement (the daemon sends goodbyes on every interface) and
    /// shuts the daemon down, blocking at most half a second for it to confirm. An error
    /// means the daemon did not confirm; it has been told to stop all the same.
    pub fn stop(self) -> Result<(), NetError> {
        own().remove(&self.fullname.to_lowercase());
        self.daemon.stop(STOP_WAIT)
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        // Dropping the daemon shuts it down, which also sends the goodbyes.
        own().remove(&self.fullname.to_lowercase());
    }
}

/// One Vigil device that answered on the local network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Discovered {
    /// Where it listens: each of its addresses with its port, sorted. IPv6 link-local
    /// addresses carry the index of the interface they were seen on.
    pub addresses: Vec<SocketAddr>,
}

/// Browses the local network for `duration` and returns the Vigil devices that answered
/// and did not withdraw, each once, leaving out this process's own [`Announcement`]s.
///
/// Browsing is visible to the network (see the [module documentation](self)). Its mDNS
/// daemon is shut down when this returns or is cancelled.
pub async fn browse(duration: Duration) -> Result<Vec<Discovered>, NetError> {
    let daemon = Daemon::start()?;
    let events = daemon
        .0
        .browse(SERVICE_TYPE)
        .map_err(|error| discovery_error("could not browse", error))?;
    let deadline = tokio::time::Instant::now() + duration;
    let mut seen: BTreeMap<String, BTreeSet<SocketAddr>> = BTreeMap::new();
    loop {
        let event = match tokio::time::timeout_at(deadline, events.recv_async()).await {
            Err(_elapsed) => break,
            Ok(Err(error)) => return Err(discovery_error("the mDNS daemon stopped", error)),
            Ok(Ok(event)) => event,
        };
        match event {
            ServiceEvent::ServiceResolved(service) => {
                let port = service.get_port();
                if port == 0 {
                    continue;
                }
                let addresses = service
                    .get_addresses()
                    .iter()
                    .map(|ip| socket_addr(ip, port));
                seen.entry(service.get_fullname().to_lowercase())
                    .or_default()
                    .extend(addresses);
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                seen.remove(&fullname.to_lowercase());
            }
            _ => {}
        }
    }
    drop(daemon);

    let own = own().clone();
    let found: BTreeSet<Discovered> = seen
        .into_iter()
        .filter(|(fullname, addresses)| !own.contains(fullname) && !addresses.is_empty())
        .map(|(_, addresses)| Discovered {
            addresses: addresses.into_iter().collect(),
        })
        .collect();
    debug!(found = found.len(), "browsed the local network");
    Ok(found.into_iter().collect())
}

fn socket_addr(ip: &ScopedIp, port: u16) -> SocketAddr {
    match ip {
        ScopedIp::V6(v6) if v6.addr().is_unicast_link_local() => {
            SocketAddr::V6(SocketAddrV6::new(*v6.addr(), port, 0, v6.scope_id().index))
        }
        other => SocketAddr::new(other.to_ip_addr(), port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TXT properties of a service record, as (key, value) strings.
    fn properties(info: &ServiceInfo) -> Vec<(String, String)> {
        info.get_properties()
            .iter()
            .map(|property| (property.key().to_owned(), property.val_str().to_owned()))
            .collect()
    }

    fn is_random_label(label: &str) -> bool {
        label.len() == 16 && label.bytes().all(|b| b.is_ascii_hexdigit())
    }

    #[test]
    fn announced_record_identifies_nobody() {
        let info = service_info(4433).unwrap();
        assert_eq!(info.get_type(), SERVICE_TYPE);
        assert_eq!(info.get_port(), 4433);

        let instance = info.get_fullname().strip_suffix(".").unwrap();
        let instance = instance.strip_suffix(SERVICE_TYPE.trim_end_matches('.'));
        let instance = instance.unwrap().strip_suffix('.').unwrap();
        assert!(is_random_label(instance), "instance name {instance:?}");

        let host = info.get_hostname().strip_suffix(".local.").unwrap();
        assert!(is_random_label(host), "host name {host:?}");
        if let Ok(machine) = std::fs::read_to_string("/etc/hostname") {
            let machine = machine.trim().to_lowercase();
            assert!(machine.is_empty() || !info.get_hostname().contains(&machine));
        }

        assert_eq!(properties(&info), [("v".to_owned(), "1".to_owned())]);
        assert!(info.get_addresses().is_empty(), "the daemon fills them in");
        assert!(info.is_addr_auto());
    }

    #[test]
    fn every_announcement_has_fresh_names() {
        let first = service_info(4433).unwrap();
        let second = service_info(4433).unwrap();
        assert_ne!(first.get_fullname(), second.get_fullname());
        assert_ne!(first.get_hostname(), second.get_hostname());
        assert_ne!(first.get_hostname(), first.get_fullname());
    }
}
