#!/usr/bin/env bash
# preflight benchmarks: prints the figures the README's benchmark table quotes.
#
#   bash benches/bench.sh            # all: static (5 and 10,000 services, linearity) and --local vs ss
#   bash benches/bench.sh static     # only the static checks
#   bash benches/bench.sh fleet      # only the fleet check: 1,000 hosts' facts x a 50-service manifest
#   bash benches/bench.sh local      # only --local against ss
#   bash benches/bench.sh compose    # Compose and Kubernetes reading, and dclint side by side
#   bash benches/bench.sh large      # a 10 MB Compose file and a 10 MB Kubernetes stream: time and memory
#
# Each figure is printed beside the goal or the reference it is measured against (issue #26).
#
# Static checks need nothing but the release build. The host benchmark needs root, `unshare`, `ss` and
# python3: it opens 20,000 TCP sockets on loopback inside a private network namespace (spread over
# several processes, each under the open-file limit), times `ss -tanp` and `preflight check --local`
# side by side, and cleans up (the namespace and its processes end with the run).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
cargo build --release -q
bin=$PWD/target/release/preflight
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# median wall time in milliseconds of N runs of a command
median_ms() {
  local n=$1; shift
  local times=()
  for _ in $(seq "$n"); do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; printf "%.2f", m/1000}'
}

manifest() { # services → a manifest with 3 ports each, all distinct, in team blocks
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
teams = max(1, n // 100)
out = ["version: 1", "target: { platform: linux, run_as: root }", "port_plan:"]
for t in range(teams):
    out.append(f"  team{t}: {1024 + t * 300}-{1024 + t * 300 + 299}")
out.append("services:")
for i in range(n):
    t = i // 100
    base = 1024 + t * 300 + (i % 100) * 3
    out.append(f"  svc-{i}:")
    out.append(f"    team: team{t}")
    out.append("    runtime: go")
    out.append("    ports:")
    out.append(f"      http: {{ port: {base}, expose: public, purpose: http }}")
    out.append(f"      metrics: {{ port: {base + 1}, purpose: metrics }}")
    out.append(f"      admin: {{ port: {base + 2}, bind: 127.0.0.1, expose: local }}")
print("\n".join(out))
PY
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"

if [ "$what" = all ] || [ "$what" = static ]; then
  manifest 5 > "$tmp/m5.yaml"
  manifest 1000 > "$tmp/m1k.yaml"
  manifest 10000 > "$tmp/m10k.yaml"
  echo "static check, 5 services:      $(median_ms 51 "$bin" check "$tmp/m5.yaml" --fail-on never) ms (median of 51, whole process)"
  t1k=$(median_ms 11 "$bin" check "$tmp/m1k.yaml" --fail-on never --format json)
  t10k=$(median_ms 11 "$bin" check "$tmp/m10k.yaml" --fail-on never --format json)
  rss=$(/usr/bin/time -f %M "$bin" check "$tmp/m10k.yaml" --fail-on never --format json 2>&1 >/dev/null | tail -1)
  echo "static check, 1,000 services:  $t1k ms"
  echo "static check, 10,000 services: $t10k ms (goal < 80 ms), peak RSS $((rss / 1024)) MiB ($(wc -c < "$tmp/m10k.yaml") bytes of YAML)"
  awk -v a="$t1k" -v b="$t10k" 'BEGIN {printf "scaling 1,000 -> 10,000 services: x%.1f time for x10 services\n", b/a}'
fi

if [ "$what" = all ] || [ "$what" = fleet ]; then
  # 1,000 Linux hosts, each with an nftables ruleset (policy drop, a named set, a jump), 200 sockets
  # (listening and TIME_WAIT), its own port ranges; one host in ten holds one of the manifest's ports.
  manifest 50 > "$tmp/m50.yaml"
  mkdir -p "$tmp/fleet"
  python3 - "$tmp/fleet" tests/fixtures/rules/firewall-blocked/fires.facts.json <<'PY2'
import json, random, sys
out, base = sys.argv[1], json.load(open(sys.argv[2]))
rnd = random.Random(7)
for i in range(1000):
    f = dict(base)
    f["host"] = f"host-{i:04d}"
    socks = []
    for _ in range(200):
        socks.append({"protocol": "tcp", "address": "0.0.0.0", "port": rnd.randint(20000, 30000),
                      "state": rnd.choice(["listen", "time-wait"]), "pid": rnd.randint(100, 99999),
                      "process": "svc"})
    if i % 10 == 0:
        socks.append({"protocol": "tcp", "address": "0.0.0.0", "port": 1024 + rnd.randint(0, 149),
                      "state": "listen", "pid": 4242, "process": "java"})
    f["sockets"] = {"value": socks, "origin": "captured", "detail": "bench"}
    lo = rnd.choice([32768, 40000])
    f["ephemeral_tcp"] = {"value": {"start": lo, "end": 60999}, "origin": "captured", "detail": "bench"}
    f["unprivileged_port_start"] = {"value": 1024, "origin": "captured", "detail": "bench"}
    json.dump(f, open(f"{out}/host-{i:04d}.json", "w"))
PY2
  t=$(median_ms 5 "$bin" check "$tmp/m50.yaml" --facts "$tmp/fleet" --fail-on never --format json)
  rss=$(/usr/bin/time -f %M "$bin" check "$tmp/m50.yaml" --facts "$tmp/fleet" --fail-on never --format json 2>&1 >/dev/null | tail -1)
  n=$("$bin" check "$tmp/m50.yaml" --facts "$tmp/fleet" --fail-on never --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print(len(d['hosts']), 'hosts,', len(d['findings']), 'findings')")
  echo "fleet check, 1,000 hosts x 50 services: $t ms (median of 5; goal < 300 ms), peak RSS $((rss / 1024)) MiB (goal < 150 MiB) ($n, $(du -sh "$tmp/fleet" | cut -f1) of facts)"
  t1=$(median_ms 5 env RAYON_NUM_THREADS=1 "$bin" check "$tmp/m50.yaml" --facts "$tmp/fleet" --fail-on never --format json)
  echo "  same on one thread (RAYON_NUM_THREADS=1): $t1 ms"
fi

if [ "$what" = all ] || [ "$what" = compose ]; then
  # The real corpus (tests/fixtures/compose, 46 files from 41 projects), copied to 1,012 files; one
  # run of preflight checks them all. dclint (npm, installed into the temp directory when the npm
  # registry is reachable) lints the same files, one run for all of them too.
  corpus=tests/fixtures/compose
  mkdir -p "$tmp/c1k"
  n=0
  while [ "$n" -lt 1012 ]; do
    for f in "$corpus"/*.yaml; do
      [ "$n" -ge 1012 ] && break
      mkdir -p "$tmp/c1k/$n"; cp "$f" "$tmp/c1k/$n/compose.yaml"; n=$((n + 1))
    done
  done
  one="$corpus/06-typeorm.yaml"
  echo "Compose, one file ($(grep -c . "$one") lines, 14 services): $(median_ms 51 "$bin" check "$one" --fail-on never) ms (median of 51, whole process)"
  files=("$tmp"/c1k/*/compose.yaml)
  t_pf=$(median_ms 5 "$bin" check "${files[@]}" --fail-on never --format json)
  echo "Compose, ${#files[@]} files in one run: $t_pf ms"
  # 10,000 Kubernetes documents (5,000 Deployments with two containers, 5,000 Services) in one stream.
  python3 - > "$tmp/k10k.yaml" <<'PY3'
for i in range(5000):
    print(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{ name: app-{i}, namespace: ns-{i % 50} }}
spec:
  replicas: 2
  selector: {{ matchLabels: {{ app: app-{i} }} }}
  template:
    metadata: {{ labels: {{ app: app-{i} }} }}
    spec:
      securityContext: {{ runAsNonRoot: true, runAsUser: 1000 }}
      containers:
        - name: web
          image: nginx
          ports: [{{ name: http, containerPort: 8080 }}]
        - name: metrics
          image: exporter
          ports: [{{ name: metrics, containerPort: 9100 }}]
---
apiVersion: v1
kind: Service
metadata: {{ name: app-{i}, namespace: ns-{i % 50} }}
spec:
  selector: {{ app: app-{i} }}
  ports: [{{ port: 80, targetPort: http }}]""")
PY3
  echo "Kubernetes, 10,000 documents in one stream ($(wc -c < "$tmp/k10k.yaml") bytes): $(median_ms 5 "$bin" check "$tmp/k10k.yaml" --fail-on never --format json) ms"
  dclint=""
  if command -v dclint >/dev/null; then
    dclint=dclint
  elif command -v npm >/dev/null && (cd "$tmp" && timeout 300 npm install --silent --no-audit --no-fund dclint@3.1.0 >/dev/null 2>&1); then
    dclint="$tmp/node_modules/.bin/dclint"
  fi
  if [ -n "$dclint" ]; then
    echo "dclint $("$dclint" --version 2>/dev/null), same machine:"
    t_one=$(median_ms 11 "$dclint" "$one")
    echo "  one file: $t_one ms (median of 11, whole process)"
    t_dc=$(median_ms 3 "$dclint" "${files[@]}")
    echo "  ${#files[@]} files in one run: $t_dc ms"
    awk -v a="$t_dc" -v b="$t_pf" 'BEGIN {printf "  ratio on %s files: dclint takes x%.1f the time of preflight\n", "1,012", a/b}'
  else
    echo "dclint: not installed and npm unavailable: comparison skipped"
  fi
fi

if [ "$what" = all ] || [ "$what" = large ]; then
  # 10 MB of Compose (84,840 services, under the 100,000-service limit; once publishing fixed host
  # ports, once only container ports) and 10 MB of Kubernetes (Services, one per document). Goal: peak
  # RSS within 10x the input.
  python3 - "$tmp" <<'PY4'
import sys
tmp = sys.argv[1]
def compose(name, port):
    """10 MB of Compose services, service i publishing `port(i)`."""
    out, size, i = [], 0, 0
    while size < 10_000_000:
        s = (f"  svc-{i}:\n    image: registry.example.com/team/app:1.2.3\n    restart: unless-stopped\n"
             f"    ports:\n      - \"{port(i)}\"\n")
        out.append(s); size += len(s); i += 1
    open(f"{tmp}/{name}.yaml", "w").write("services:\n" + "".join(out))
compose("c10", lambda i: f"{10000 + i % 50000}:80")
# The same services publishing only a container port (Docker picks the host port): nothing to
# report, so the figure is the reading's, not the findings'.
compose("cq", lambda i: "80")
out, size, i = [], 0, 0
while size < 10_000_000:
    d = (f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: ns-{i % 50}\n"
         f"spec:\n  selector:\n    app: app-{i}\n  ports:\n    - port: 80\n      targetPort: 8080\n")
    out.append(d); size += len(d); i += 1
open(f"{tmp}/k10.yaml", "w").write("".join(out))
PY4
  for f in c10 cq k10; do
    bytes=$(wc -c < "$tmp/$f.yaml")
    t=$(median_ms 3 "$bin" check "$tmp/$f.yaml" --fail-on never --format json)
    rss=$(/usr/bin/time -f %M "$bin" check "$tmp/$f.yaml" --fail-on never --format json 2>&1 >/dev/null | tail -1)
    awk -v f="$f" -v b="$bytes" -v t="$t" -v r="$rss" 'BEGIN {
      printf "%s: %.1f MB read in %s ms, peak RSS %d MiB = x%.1f the input (goal <= x10)\n",
        (f == "c10" ? "10 MB Compose file (74,156 findings)" : f == "cq" ? "10 MB Compose file (no findings)" : "10 MB Kubernetes stream"),
        b / 1e6, t, r / 1024, r * 1024 / b }'
  done
  # The other reports of the Compose file's 74,156 findings: each is made whole as it is written.
  for fmt in sarif human; do
    bytes=$(wc -c < "$tmp/c10.yaml")
    t=$(median_ms 3 "$bin" check "$tmp/c10.yaml" --fail-on never --format "$fmt")
    rss=$(/usr/bin/time -f %M "$bin" check "$tmp/c10.yaml" --fail-on never --format "$fmt" 2>&1 >/dev/null | tail -1)
    awk -v f="$fmt" -v b="$bytes" -v t="$t" -v r="$rss" 'BEGIN {
      printf "10 MB Compose file (74,156 findings), --format %s: %s ms, peak RSS %d MiB = x%.1f the input\n",
        f, t, r / 1024, r * 1024 / b }'
  done
fi

if [ "$what" = all ] || [ "$what" = local ]; then
  if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v ss >/dev/null; then
    echo "host benchmark: SKIPPED (needs root, unshare and ss)"
    exit 0
  fi
  cat > "$tmp/hold.py" <<'PY'
# Holds N loopback connections (2N sockets) until stdin closes.
import socket, sys
n = int(sys.argv[1])
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(4096)
port = srv.getsockname()[1]
keep = []
for _ in range(n):
    c = socket.create_connection(("127.0.0.1", port)); s, _ = srv.accept(); keep += [c, s]
print("ready", flush=True)
sys.stdin.read()
PY
  cat > "$tmp/local.yaml" <<'YAML'
version: 1
target: { platform: linux, run_as: root }
services:
  api:
    ports:
      http: { port: 18080, bind: 127.0.0.1, expose: local }
      grpc: { port: 18081, bind: 127.0.0.1, expose: local }
YAML
  cat > "$tmp/run.sh" <<SH
set -e
ip link set lo up
ulimit -n 16384
pipes=()
for i in 1 2 3 4; do
  exec {fd}> >(python3 "$tmp/hold.py" 2500 > "$tmp/ready.\$i")
  pipes+=(\$fd)
done
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',18080)); s.listen(); time.sleep(120)" &
listener=\$!
for i in 1 2 3 4; do while [ ! -s "$tmp/ready.\$i" ]; do sleep 0.1; done; done
sleep 0.2
count=\$(ss -Htan | wc -l)
ss_ms=\$(bash -c 'source "$tmp/fns.sh"; median_ms 11 ss -tanp')
ssn_ms=\$(bash -c 'source "$tmp/fns.sh"; median_ms 11 ss -tan')
sstln_ms=\$(bash -c 'source "$tmp/fns.sh"; median_ms 11 ss -tln')
sstlnp_ms=\$(bash -c 'source "$tmp/fns.sh"; median_ms 11 ss -tlnp')
pf_ms=\$(bash -c 'source "$tmp/fns.sh"; median_ms 11 "$bin" check "$tmp/local.yaml" --local --fail-on never --format json')
echo "host with \$count TCP sockets (loopback, private namespace), medians of 11:"
echo "  ss -tln  (listeners, no owners: the floor): \$sstln_ms ms"
echo "  ss -tlnp (listeners with owners):           \$sstlnp_ms ms"
echo "  ss -tan:                                    \$ssn_ms ms"
echo "  ss -tanp:                                   \$ss_ms ms"
echo "  preflight check --local (2 ports):          \$pf_ms ms"
awk -v a="\$pf_ms" -v b="\$sstln_ms" -v c="\$sstlnp_ms" 'BEGIN {printf "  preflight / ss -tln:  x%.2f (goal <= 3)\n  preflight / ss -tlnp: x%.2f (goal <= 0.25)\n", a/b, a/c}'
"$bin" check "$tmp/local.yaml" --local --format json | python3 -c "import json,sys; d=json.load(sys.stdin); print('  found:', [f['message'][:70] for f in d['findings'] if f['rule']=='port-occupied'])"
kill \$listener
for fd in "\${pipes[@]}"; do exec {fd}>&-; done
SH
  declare -f median_ms > "$tmp/fns.sh"
  unshare -n bash "$tmp/run.sh"
fi
