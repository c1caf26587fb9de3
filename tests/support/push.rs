//! Helpers for the push tests: recording wrappers and stand-ins for the secrets CLIs,
//! the key's every encoding for "never in argv or env" checks, and loopback servers.

use super::Home;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A directory of CLI wrappers / stand-ins, first on PATH, each recording every call:
/// its argv (NUL-separated), its environment and its stdin, one directory per call.
pub struct Recorder {
    pub dir: tempfile::TempDir,
}

impl Recorder {
    pub fn new() -> Self {
        let r = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(r.bin()).unwrap();
        fs::create_dir_all(r.log()).unwrap();
        r
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    /// PATH with the recorder first (then `extra`, then the test's own PATH).
    pub fn path(&self, extra: &[&Path]) -> String {
        let mut parts = vec![self.bin()];
        parts.extend(extra.iter().map(|p| p.to_path_buf()));
        parts.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(parts).unwrap().into_string().unwrap()
    }

    fn script(&self, name: &str, body: &str) {
        let log = self.log();
        let text = format!(
            "#!/bin/bash\n\
             d=\"{log}/$(date +%s%N)-$$\"\nmkdir -p \"$d\"\n\
             printf '%s\\0' \"{name}\" \"$@\" > \"$d/argv\"\n\
             env > \"$d/env\"\n\
             {body}\n",
            log = log.display()
        );
        super::write(&self.bin().join(name), text, 0o755);
    }

    /// A wrapper around the real CLI: records, then runs it with the same stdin.
    pub fn wrap(&self, name: &str, real: &Path) {
        self.script(name, &format!("exec {} \"$@\"", real.display()));
    }

    /// A stand-in: records argv, env and stdin, then runs `behaviour` (bash; `$d` is its
    /// record directory, `$@` its arguments).
    pub fn stand_in(&self, name: &str, behaviour: &str) {
        self.script(
            name,
            &format!("if [ -t 0 ]; then :; else cat > \"$d/stdin\"; fi\n{behaviour}"),
        );
    }

    /// Every recorded call: (argv, env, stdin).
    pub fn calls(&self) -> Vec<(Vec<String>, String, Option<String>)> {
        let mut dirs: Vec<_> = fs::read_dir(self.log())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        dirs.into_iter()
            .map(|d| {
                let argv = fs::read_to_string(d.join("argv")).unwrap_or_default();
                (
                    argv.split('\0')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                    fs::read_to_string(d.join("env")).unwrap_or_default(),
                    fs::read_to_string(d.join("stdin")).ok(),
                )
            })
            .collect()
    }

    /// Calls of one program whose argv contains `word`.
    pub fn calls_of(
        &self,
        program: &str,
        word: &str,
    ) -> Vec<(Vec<String>, String, Option<String>)> {
        self.calls()
            .into_iter()
            .filter(|(a, _, _)| {
                a.first().map(String::as_str) == Some(program) && a.iter().any(|x| x == word)
            })
            .collect()
    }

    /// No recorded child ever had any of `needles` in its argv or environment.
    pub fn assert_key_never_in_argv_or_env(&self, needles: &[String]) {
        let calls = self.calls();
        for (argv, env, _) in &calls {
            for n in needles {
                assert!(
                    !argv.iter().any(|a| a.contains(n.as_str())),
                    "key material in argv: {argv:?}"
                );
                assert!(
                    !env.contains(n.as_str()),
                    "key material in a child's environment"
                );
            }
            assert!(
                !env.contains("CAPISCIO_"),
                "a CAPISCIO_* variable reached a child"
            );
        }
    }
}

/// The env value `push` stores for an identity (what `export --format jwk|pem` prints,
/// the JWK without its newline) and the key's encodings that must never leak.
pub fn value_and_needles(home: &Home, id: &str, pem: bool) -> (String, Vec<String>) {
    let fmt = if pem { "pem" } else { "jwk" };
    let out = home.run(&["export", id, "--format", fmt]);
    assert!(out.status.success(), "{}", super::stderr(&out));
    let mut value = super::stdout(&out);
    if !pem {
        value = value.trim_end_matches('\n').to_string();
    }
    let mut needles = vec![value.clone()];
    if pem {
        needles.extend(
            value
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(String::from),
        );
    } else {
        let v: serde_json::Value = serde_json::from_str(&value).unwrap();
        needles.push(v["d"].as_str().unwrap().to_string());
    }
    (value, needles)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server child on loopback, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Starts `program args` and waits (up to 60 s) until `port` accepts connections.
    pub fn start(program: &Path, args: &[String], port: u16) -> Self {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let s = Self { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "{} did not listen on {port}",
                program.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A program on PATH (the CI venv's bin dir is on it).
pub fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Recorder {
    /// Where the keeping stand-ins store what they are given.
    pub fn state(&self) -> PathBuf {
        let st = self.dir.path().join("state");
        fs::create_dir_all(&st).unwrap();
        st
    }

    /// Stand-ins for doppler, op, kubectl and gcloud with a memory: a write keeps what
    /// it got on stdin, a read gives it back (not found before), as the real CLIs do —
    /// `push` reads every target back after writing it.
    pub fn keeping_stand_ins(&self) {
        let st = self.state();
        let st = st.display();
        self.stand_in(
            "doppler",
            &format!(
                r#"f="{st}/doppler-$5-$7-$3"
case "$2" in
  get) if [ -f "$f" ]; then cat "$f"; else echo 'Doppler Error: Could not find requested secret: X' >&2; exit 1; fi;;
  set) cp "$d/stdin" "$f";;
esac"#
            ),
        );
        self.stand_in(
            "op",
            &format!(
                r#"st="{st}"
case "$1 $2" in
  "read --no-newline")
    uri="${{3#op://}}"; v="${{uri%%/*}}"; rest="${{uri#*/}}"; i="${{rest%/*}}"; f="${{rest##*/}}"
    if [ ! -f "$st/op-$v-$i" ]; then echo '[ERROR] "i" isn'"'"'t an item in the "v" vault' >&2; exit 1; fi
    python3 -c 'import json,sys
t = json.load(open(sys.argv[1]))
v = [x["value"] for x in t["fields"] if x["id"] == sys.argv[2]]
if not v:
    sys.stderr.write("[ERROR] no field\n"); sys.exit(1)
sys.stdout.write(v[0])' "$st/op-$v-$i" "$f";;
  "item create") cp "$d/stdin" "$st/op-$4-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["title"])' "$d/stdin")";;
  "item edit") cp "$d/stdin" "$st/op-$5-$3";;
esac"#
            ),
        );
        self.stand_in(
            "kubectl",
            &format!(
                r#"st="{st}"
prev=""; name=""
for a in "$@"; do [ "$prev" = secret ] && name="$a"; prev="$a"; done
for a in "$@"; do case "$a" in
  get) if [ -f "$st/k8s-$name" ]; then cat "$st/k8s-$name"; exit 0; fi
       echo "Error from server (NotFound): secrets \"$name\" not found" >&2; exit 1;;
  apply)
    for b in "$@"; do [ "$b" = "--server-side" ] && {{
      cp "$d/stdin" "$st/k8s-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["name"])' "$d/stdin")"; exit 0; }}; done
    echo 'client-side apply refused by the stand-in' >&2; exit 1;;
esac; done"#
            ),
        );
        self.stand_in(
            "gcloud",
            &format!(
                r#"st="{st}"
sec=""
for x in "$@"; do case "$x" in --secret=*) sec="${{x#--secret=}}";; esac; done
case "$2 $3" in
  "versions access")
    if [ -f "$st/gcloud-$sec" ]; then cat "$st/gcloud-$sec"; else echo "ERROR: (gcloud.secrets.versions.access) NOT_FOUND: Secret [$sec] not found" >&2; exit 1; fi;;
  "versions add") cp "$d/stdin" "$st/gcloud-$4";;
esac
[ "$2" = create ] && cp "$d/stdin" "$st/gcloud-$3"
exit 0"#
            ),
        );
    }
}
