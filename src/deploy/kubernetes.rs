//! `deploy kubernetes`: three manifests in one stream. A `Secret` holding
//! the run's secret; a headless `Service` NAME (`clusterIP: None`,
//! `publishNotReadyAddresses: true`) so pod `NAME-K` of the Job is
//! `NAME-K.NAME` in DNS as soon as it exists; an Indexed `Job` NAME of N
//! pods, pod K (0-based) being VM K+1 through `--index`. Each VM also
//! writes its log to standard output (`--log-stdout`), so `kubectl logs`
//! piped into `lamport-sim collect` gives the logs back.

use super::Plan;
use super::yaml::Yaml;
use crate::config::ConfigError;
use crate::params::bad;

/// The pod label every object of a run carries: `lamport-sim/run: RUN`.
pub const RUN_LABEL: &str = "lamport-sim/run";
/// The environment variable that carries the pod's completion index.
const INDEX_VAR: &str = "LAMPORT_INDEX";
const INDEX_FIELD: &str = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

/// What the manifests need besides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kubernetes {
    pub image: String,
    /// The Job's and the Service's name; pods are NAME-0 .. NAME-(N-1).
    pub name: String,
    pub port: u16,
}

/// Checks `--name` (a DNS label short enough for `NAME-(N-1)`, the last
/// pod's hostname) and `--run` (a label value).
pub fn check(plan: &Plan, k: &Kubernetes) -> Result<(), ConfigError> {
    let longest = 63 - 1 - (plan.vms() - 1).to_string().len();
    let n = k.name.as_bytes();
    let dns = matches!(n.first(), Some(b'a'..=b'z'))
        && n.last()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && n.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if !dns || n.len() > longest {
        return bad(
            "--name",
            &k.name,
            format!(
                "must be 1 to {longest} characters of a-z 0-9 -, starting with a letter and ending with a letter or digit"
            ),
        );
    }
    let r = plan.run.as_bytes();
    let ends = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    if r.len() > 63 || !ends(r.first()) || !ends(r.last()) {
        return bad(
            "--run",
            &plan.run,
            "must fit a Kubernetes label: at most 63 characters, starting and ending with a letter or digit",
        );
    }
    Ok(())
}

/// The name of the run's Secret.
pub fn secret_name(k: &Kubernetes) -> String {
    format!("{}-secret", k.name)
}

/// The container's arguments (the image's entrypoint is the binary).
pub fn args(plan: &Plan, k: &Kubernetes) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "vm".into(),
        "--index".into(),
        format!("$({INDEX_VAR})"),
        "--vms".into(),
        plan.vms().to_string(),
        "--peers".into(),
        format!("{}-{{index}}.{}:{}", k.name, k.name, k.port),
        "--listen".into(),
        format!("0.0.0.0:{}", k.port),
    ];
    args.extend(plan.vm_flags());
    args.extend(["--logs", "/logs", "--log-stdout"].map(String::from));
    args
}

fn metadata(name: &str, plan: &Plan) -> Yaml {
    Yaml::map([("name", Yaml::s(name)), ("labels", labels(plan))])
}

fn labels(plan: &Plan) -> Yaml {
    Yaml::map([(RUN_LABEL, Yaml::s(&plan.run))])
}

/// The three manifests: Secret, Service, Job.
pub fn manifests(plan: &Plan, k: &Kubernetes) -> Vec<Yaml> {
    vec![secret(plan, k), service(plan, k), job(plan, k)]
}

fn secret(plan: &Plan, k: &Kubernetes) -> Yaml {
    Yaml::map([
        ("apiVersion", Yaml::s("v1")),
        ("kind", Yaml::s("Secret")),
        ("metadata", metadata(&secret_name(k), plan)),
        ("type", Yaml::s("Opaque")),
        ("stringData", Yaml::map([("secret", Yaml::s(&plan.secret))])),
    ])
}

fn service(plan: &Plan, k: &Kubernetes) -> Yaml {
    let port = Yaml::map([
        ("name", Yaml::s("lamport")),
        ("port", Yaml::Int(i64::from(k.port))),
        ("targetPort", Yaml::Int(i64::from(k.port))),
    ]);
    Yaml::map([
        ("apiVersion", Yaml::s("v1")),
        ("kind", Yaml::s("Service")),
        ("metadata", metadata(&k.name, plan)),
        (
            "spec",
            Yaml::map([
                ("clusterIP", Yaml::s("None")),
                ("publishNotReadyAddresses", Yaml::Bool(true)),
                ("selector", labels(plan)),
                ("ports", Yaml::Seq(vec![port])),
            ]),
        ),
    ])
}

fn job(plan: &Plan, k: &Kubernetes) -> Yaml {
    let n = Yaml::Int(i64::from(plan.vms()));
    let spec = Yaml::map([
        ("completionMode", Yaml::s("Indexed")),
        ("completions", n.clone()),
        ("parallelism", n),
        ("backoffLimit", Yaml::Int(0)),
        ("activeDeadlineSeconds", Yaml::Int(plan.deadline() as i64)),
        (
            "template",
            Yaml::map([
                ("metadata", Yaml::map([("labels", labels(plan))])),
                ("spec", pod(plan, k)),
            ]),
        ),
    ]);
    Yaml::map([
        ("apiVersion", Yaml::s("batch/v1")),
        ("kind", Yaml::s("Job")),
        ("metadata", metadata(&k.name, plan)),
        ("spec", spec),
    ])
}

fn pod(plan: &Plan, k: &Kubernetes) -> Yaml {
    let env = |name: &str, from: Yaml| Yaml::map([("name", Yaml::s(name)), ("valueFrom", from)]);
    let index = Yaml::map([("fieldRef", Yaml::map([("fieldPath", Yaml::s(INDEX_FIELD))]))]);
    let secret = Yaml::map([(
        "secretKeyRef",
        Yaml::map([
            ("name", Yaml::s(secret_name(k))),
            ("key", Yaml::s("secret")),
        ]),
    )]);
    let container = Yaml::map([
        ("name", Yaml::s("vm")),
        ("image", Yaml::s(&k.image)),
        // Images built here are never in a registry.
        ("imagePullPolicy", Yaml::s("IfNotPresent")),
        ("args", Yaml::strs(&args(plan, k))),
        (
            "env",
            Yaml::Seq(vec![env(INDEX_VAR, index), env("LAMPORT_SECRET", secret)]),
        ),
        (
            "ports",
            Yaml::Seq(vec![Yaml::map([
                ("name", Yaml::s("lamport")),
                ("containerPort", Yaml::Int(i64::from(k.port))),
            ])]),
        ),
        (
            "volumeMounts",
            Yaml::Seq(vec![Yaml::map([
                ("name", Yaml::s("logs")),
                ("mountPath", Yaml::s("/logs")),
            ])]),
        ),
    ]);
    let empty: Vec<(String, Yaml)> = Vec::new();
    Yaml::map([
        ("subdomain", Yaml::s(&k.name)),
        ("restartPolicy", Yaml::s("Never")),
        ("containers", Yaml::Seq(vec![container])),
        (
            "volumes",
            Yaml::Seq(vec![Yaml::map([
                ("name", Yaml::s("logs")),
                ("emptyDir", Yaml::Map(empty)),
            ])]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::tests::plan_of;
    use crate::deploy::yaml::documents;
    use yaml_rust2::YamlLoader;

    fn kube() -> Kubernetes {
        Kubernetes {
            image: "lamport-sim:latest".into(),
            name: "lamport".into(),
            port: 7000,
        }
    }

    #[test]
    fn a_secret_a_headless_service_and_an_indexed_job_of_n() {
        let plan = plan_of(&["--vms", "4", "--runtime", "30"]);
        let docs = YamlLoader::load_from_str(&documents(&manifests(&plan, &kube()))).unwrap();
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Secret", "Service", "Job"]);
        let (secret, service, job) = (&docs[0], &docs[1], &docs[2]);
        assert_eq!(
            secret["stringData"]["secret"].as_str(),
            Some(plan.secret.as_str())
        );
        assert_eq!(service["spec"]["clusterIP"].as_str(), Some("None"));
        assert_eq!(
            service["spec"]["publishNotReadyAddresses"].as_bool(),
            Some(true)
        );
        assert_eq!(service["spec"]["selector"][RUN_LABEL].as_str(), Some("r1"));
        let spec = &job["spec"];
        assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
        assert_eq!(spec["completions"].as_i64(), Some(4));
        assert_eq!(spec["parallelism"].as_i64(), Some(4));
        assert_eq!(spec["backoffLimit"].as_i64(), Some(0));
        assert_eq!(
            spec["activeDeadlineSeconds"].as_i64(),
            Some(60 + 30 + 20 + 60)
        );
        let template = &spec["template"];
        assert_eq!(
            template["metadata"]["labels"][RUN_LABEL].as_str(),
            Some("r1")
        );
        let pod = &template["spec"];
        assert_eq!(pod["subdomain"].as_str(), Some("lamport"));
        assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
        assert!(pod["volumes"][0]["emptyDir"].as_hash().is_some());
        let c = &pod["containers"][0];
        assert_eq!(c["env"][0]["name"].as_str(), Some("LAMPORT_INDEX"));
        assert_eq!(
            c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
            Some(INDEX_FIELD)
        );
        let key = &c["env"][1]["valueFrom"]["secretKeyRef"];
        assert_eq!(key["name"].as_str(), Some("lamport-secret"));
        assert_eq!(secret["metadata"]["name"].as_str(), key["name"].as_str());
        let args: Vec<&str> = c["args"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            &args[..9],
            [
                "vm",
                "--index",
                "$(LAMPORT_INDEX)",
                "--vms",
                "4",
                "--peers",
                "lamport-{index}.lamport:7000",
                "--listen",
                "0.0.0.0:7000"
            ]
        );
        assert_eq!(&args[args.len() - 3..], ["--logs", "/logs", "--log-stdout"]);
    }

    #[test]
    fn names_and_run_ids_must_suit_kubernetes() {
        let plan = plan_of(&["--vms", "100"]);
        assert!(check(&plan, &kube()).is_ok());
        for name in ["", "Lamport", "1amport", "lamport-", "a_b", &"a".repeat(61)] {
            let k = Kubernetes {
                name: name.into(),
                ..kube()
            };
            assert_eq!(check(&plan, &k).unwrap_err().flag, "--name", "{name:?}");
        }
        let k = Kubernetes {
            name: "a".repeat(60),
            ..kube()
        };
        assert!(check(&plan, &k).is_ok());
        for run in ["-ab", "ab_", &"a".repeat(64)] {
            let p = Plan {
                run: run.into(),
                ..plan.clone()
            };
            assert_eq!(check(&p, &kube()).unwrap_err().flag, "--run", "{run:?}");
        }
    }
}
