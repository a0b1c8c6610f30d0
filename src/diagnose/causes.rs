//! The likely causes of an address-in-use or access-denied error, ranked for the platform, each with
//! the commands that confirm and fix it and the rule that would have caught it before the deploy.

use super::model::Cause;

pub(super) fn in_use_causes(port: Option<u16>, platform: Option<&str>) -> Vec<Cause> {
    let p = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
    let windows = platform == Some("windows");
    let mut causes = vec![Cause {
        rule: Some("port-occupied"),
        likelihood: "high",
        why: format!(
            "another process already listens on {p}: another server ({}), or an old instance of this service",
            match platform {
                Some("windows") => "IIS/HTTP.sys on 80, SQL Server on 1433",
                Some("linux") => "nginx or Apache on 80, PostgreSQL on 5432",
                Some("macos") => "the AirPlay Receiver on 5000 and 7000, a development server",
                _ => "a web server on 80, a database on its default port",
            }
        ),
        confirm: if windows {
            vec![
                format!(
                    "Get-NetTCPConnection -LocalPort {p} -State Listen -ErrorAction SilentlyContinue | Select LocalAddress,LocalPort,OwningProcess"
                ),
                format!("netstat -ano | findstr :{p}"),
                "netsh http show servicestate   (when the owner is System, PID 4)".into(),
            ]
        } else {
            vec![
                format!("ss -ltnp 'sport = :{p}'"),
                format!("lsof -nP -iTCP:{p} -sTCP:LISTEN"),
            ]
        },
        fix: vec![format!(
            "stop the owner if it should not run there (systemctl stop / Stop-Service), or move the service to a free port: preflight suggest --team TEAM"
        )],
    }];
    if !windows {
        causes.push(Cause {
            rule: Some("time-wait"),
            likelihood: "medium",
            why: "a restart within 60 s of the last instance, while its connections sit in TIME_WAIT, fails unless both the old and the new listener set SO_REUSEADDR".to_owned(),
            confirm: vec![format!("ss -tan state time-wait '( sport = :{p} )'")],
            fix: vec!["set SO_REUSEADDR on the listening socket before bind (declare `socket: { reuse_address: true }`)".into()],
        });
    }
    causes.push(Cause {
        rule: Some("port-conflict"),
        likelihood: "medium",
        why: "two services of the same deploy picked the same port, or one binds 0.0.0.0 and another a specific address of the same port (they conflict on Linux)".into(),
        confirm: vec!["preflight check deploy.yaml".into()],
        fix: vec!["give one of them another port".into()],
    });
    // Only where the port lies in the dynamic range of the platform (either one when unknown): a cause
    // whose premise is false for this port is not stated.
    let dynamic = |p: u16| match platform {
        Some("linux") => (32768..=60999).contains(&p),
        Some("windows") | Some("macos") => p >= 49152,
        _ => p >= 32768,
    };
    if port.is_none_or(dynamic) {
        causes.push(Cause {
            rule: Some("ephemeral-range"),
            likelihood: "low",
            why: "the port is inside the dynamic range, so an outbound connection or a bind(0) took it first".into(),
            confirm: if windows { vec!["netsh int ipv4 show dynamicport tcp".into()] } else { vec!["sysctl net.ipv4.ip_local_port_range".into()] },
            fix: vec!["move the port below the dynamic range, or reserve it (net.ipv4.ip_local_reserved_ports; netsh … add excludedportrange)".into()],
        });
    }
    causes
}

pub(super) fn denied_causes(port: Option<u16>, platform: Option<&str>) -> Vec<Cause> {
    let p = port.map_or_else(|| "PORT".to_owned(), |p| p.to_string());
    if platform == Some("windows") {
        return vec![
            Cause {
                rule: Some("excluded-range"),
                likelihood: "high",
                why: format!("{p} lies in a range Windows excludes (Hyper-V/WinNAT, WSL2, Docker Desktop): nothing listens there, yet bind is refused with 10013"),
                confirm: vec!["netsh interface ipv4 show excludedportrange protocol=tcp".into()],
                fix: vec![format!("move the port out of the range, or as administrator: net stop winnat; netsh int ipv4 add excludedportrange protocol=tcp startport={p} numberofports=1; net start winnat")],
            },
            Cause {
                rule: Some("port-occupied"),
                likelihood: "medium",
                why: "another process holds the port with SO_EXCLUSIVEADDRUSE (Windows answers 10013 instead of 10048 then)".into(),
                confirm: vec![format!("Get-NetTCPConnection -LocalPort {p} -ErrorAction SilentlyContinue | Select OwningProcess")],
                fix: vec!["stop the owner or move the service".into()],
            },
        ];
    }
    let low = port.is_none_or(|p| p < 1024);
    // Above the default start of unprivileged ports the premise holds only on a host that raised it.
    let why = if low {
        format!(
            "{p} is below net.ipv4.ip_unprivileged_port_start (1024 by default) and the process lacks CAP_NET_BIND_SERVICE (macOS: only the wildcard address is free for non-root since 10.14)"
        )
    } else {
        format!(
            "{p} is above 1024, the default net.ipv4.ip_unprivileged_port_start, so this applies only if this host raised it above {p}; otherwise look for a security module (SELinux port labels, AppArmor) denying the bind"
        )
    };
    vec![Cause {
        rule: Some("privileged-port"),
        likelihood: if low { "high" } else { "low" },
        why,
        confirm: vec![
            "sysctl net.ipv4.ip_unprivileged_port_start".into(),
            "getcap /path/to/binary".into(),
            "id".into(),
        ],
        fix: vec![
            "setcap 'cap_net_bind_service=+ep' /path/to/binary (again after each deploy)".into(),
            "systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE".into(),
            "Kubernetes: the pod sysctl net.ipv4.ip_unprivileged_port_start=0".into(),
            "or listen on a port >= 1024 behind a proxy".into(),
        ],
    }]
}
