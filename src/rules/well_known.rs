//! A data table: the ports widely deployed servers listen on by default, with the platform and runtime
//! each is seen on. `well-known-port` reports a manifest port on one of them; suggestions avoid them.

use crate::ports::{Platform, Protocol};

/// One entry of the table of well-known ports.
#[derive(Debug)]
pub struct WellKnown {
    /// The port.
    pub port: u16,
    /// The protocols the owner uses.
    pub protocols: &'static [Protocol],
    /// Who usually holds it.
    pub owner: &'static str,
    /// Platforms where the entry applies; empty means every platform.
    pub platforms: &'static [Platform],
}

const T: &[Protocol] = &[Protocol::Tcp];
const U: &[Protocol] = &[Protocol::Udp];
const TU: &[Protocol] = &[Protocol::Tcp, Protocol::Udp];
const ANY: &[Platform] = &[];
const WIN: &[Platform] = &[Platform::Windows];
const MAC: &[Platform] = &[Platform::Macos];
const NOT_MAC: &[Platform] = &[Platform::Windows, Platform::Linux];

const fn wk(
    port: u16,
    protocols: &'static [Protocol],
    owner: &'static str,
    platforms: &'static [Platform],
) -> WellKnown {
    WellKnown {
        port,
        protocols,
        owner,
        platforms,
    }
}

/// The table as `explain well-known-port` prints it: port, protocols, platforms, owner.
pub fn table() -> String {
    let mut out =
        String::from("| port | protocol | platforms | usually held by |\n|---|---|---|---|\n");
    for w in WELL_KNOWN {
        let protocols: Vec<&str> = w.protocols.iter().map(|p| p.as_str()).collect();
        let platforms = if w.platforms.is_empty() {
            "all".to_owned()
        } else {
            w.platforms
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {} | {platforms} | {} |\n",
            w.port,
            protocols.join("/"),
            w.owner
        ));
    }
    out
}

/// The curated table, sorted by port (shared/domain-facts.md §9).
pub static WELL_KNOWN: &[WellKnown] = &[
    wk(21, T, "FTP (vsftpd, IIS FTP)", ANY),
    wk(22, T, "SSH (sshd, Windows OpenSSH)", ANY),
    wk(25, T, "SMTP (postfix, exim)", ANY),
    wk(
        53,
        TU,
        "DNS (systemd-resolved on 127.0.0.53, dnsmasq, BIND, Windows DNS)",
        ANY,
    ),
    wk(80, T, "HTTP (nginx, Apache, IIS/HTTP.sys)", ANY),
    wk(
        88,
        TU,
        "Kerberos (Active Directory domain controllers)",
        ANY,
    ),
    wk(110, T, "POP3", ANY),
    wk(123, U, "NTP (chronyd, ntpd, w32time)", ANY),
    wk(135, T, "the Windows RPC endpoint mapper", WIN),
    wk(137, U, "NetBIOS name service", WIN),
    wk(138, U, "NetBIOS datagram service", WIN),
    wk(139, T, "NetBIOS session service", WIN),
    wk(143, T, "IMAP", ANY),
    wk(389, TU, "LDAP (Active Directory Domain Services)", ANY),
    wk(443, T, "HTTPS (web servers, IIS/HTTP.sys)", ANY),
    wk(445, T, "SMB (System, PID 4 on Windows; Samba)", ANY),
    wk(465, T, "SMTPS", ANY),
    wk(587, T, "SMTP submission", ANY),
    wk(636, T, "LDAPS", ANY),
    wk(993, T, "IMAPS", ANY),
    wk(995, T, "POP3S", ANY),
    wk(1433, T, "SQL Server", ANY),
    wk(1434, U, "the SQL Server Browser", ANY),
    wk(1521, T, "the Oracle listener", ANY),
    wk(2049, TU, "NFS", ANY),
    wk(2375, T, "the Docker API (plain)", ANY),
    wk(2376, T, "the Docker API (TLS)", ANY),
    wk(2379, T, "etcd (client)", ANY),
    wk(2380, T, "etcd (peer)", ANY),
    wk(3000, T, "Grafana and Node/Rails development servers", ANY),
    wk(3306, T, "MySQL/MariaDB", ANY),
    wk(3389, TU, "RDP (Remote Desktop)", ANY),
    wk(
        5000,
        T,
        "the Flask development server and the Docker registry",
        NOT_MAC,
    ),
    wk(
        5000,
        T,
        "the macOS AirPlay Receiver (Monterey and later)",
        MAC,
    ),
    wk(5357, T, "WSDAPI (a static Windows port exclusion)", WIN),
    wk(5432, T, "PostgreSQL", ANY),
    wk(5672, T, "AMQP (RabbitMQ)", ANY),
    wk(5985, T, "WinRM over HTTP (HTTP.sys, PID 4)", WIN),
    wk(5986, T, "WinRM over HTTPS (HTTP.sys, PID 4)", WIN),
    wk(6379, T, "Redis", ANY),
    wk(6443, T, "the Kubernetes API server", ANY),
    wk(7000, T, "Cassandra", NOT_MAC),
    wk(
        7000,
        T,
        "the macOS AirPlay Receiver (Monterey and later) and Cassandra",
        MAC,
    ),
    wk(
        8080,
        T,
        "Tomcat, Jenkins, proxies and development servers",
        ANY,
    ),
    wk(
        8443,
        T,
        "alternative HTTPS (Tomcat, UniFi, dashboards)",
        ANY,
    ),
    wk(9000, T, "php-fpm, SonarQube, MinIO and Portainer", ANY),
    wk(9090, T, "Prometheus and Cockpit", ANY),
    wk(9200, T, "Elasticsearch (HTTP)", ANY),
    wk(9300, T, "Elasticsearch (transport)", ANY),
    wk(10250, T, "the kubelet", ANY),
    wk(11211, TU, "memcached", ANY),
    wk(27017, T, "MongoDB", ANY),
    wk(47001, T, "a WinRM-related HTTP.sys listener (PID 4)", WIN),
];

/// The table entry for a port on a platform, if any.
pub fn lookup(port: u16, protocol: Protocol, platform: Platform) -> Option<&'static WellKnown> {
    let start = WELL_KNOWN.partition_point(|w| w.port < port);
    WELL_KNOWN[start..]
        .iter()
        .take_while(|w| w.port == port)
        .find(|w| {
            w.protocols.contains(&protocol)
                && (w.platforms.is_empty() || w.platforms.contains(&platform))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted() {
        assert!(WELL_KNOWN.windows(2).all(|w| w[0].port <= w[1].port));
    }

    #[test]
    fn lookup_respects_platform_and_protocol() {
        assert!(lookup(5985, Protocol::Tcp, Platform::Windows).is_some());
        assert!(lookup(5985, Protocol::Tcp, Platform::Linux).is_none());
        assert!(lookup(1433, Protocol::Udp, Platform::Linux).is_none());
        assert!(
            lookup(5000, Protocol::Tcp, Platform::Macos)
                .unwrap()
                .owner
                .contains("AirPlay")
        );
        assert!(
            lookup(5000, Protocol::Tcp, Platform::Linux)
                .unwrap()
                .owner
                .contains("Flask")
        );
    }
}
