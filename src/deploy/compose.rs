//! `deploy compose`: a Compose file with one service per VM (`vm1`..`vmN`,
//! each its own hostname) on one private network, the log folder
//! bind-mounted at `/logs`. `docker compose up` (or docker-compose 1.29)
//! runs the whole run and returns when every container has exited; the
//! same file deploys on a Swarm with `docker stack deploy` (hence
//! `version: "3.8"` and `deploy.restart_policy`).

use super::Plan;
use super::yaml::Yaml;

/// Where the logs are inside each container.
pub const LOGS_IN_CONTAINER: &str = "/logs";

/// What the Compose file needs besides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compose {
    /// The image, e.g. `lamport-sim:latest` (its entrypoint is the binary).
    pub image: String,
    /// Every VM listens on this port of its own container.
    pub port: u16,
    /// The log folder on the host, absolute.
    pub logs: String,
    /// `UID:GID` the VMs run as, so the logs are the invoking user's.
    pub user: Option<String>,
}

/// The arguments of VM `id`'s `vm` command.
pub fn command(plan: &Plan, c: &Compose, id: u32) -> Vec<String> {
    let mut args: Vec<String> = [
        "vm",
        "--id",
        &id.to_string(),
        "--vms",
        &plan.vms().to_string(),
    ]
    .map(String::from)
    .into();
    args.extend([
        "--peers".into(),
        format!("vm{{id}}:{}", c.port),
        "--listen".into(),
        format!("0.0.0.0:{}", c.port),
    ]);
    args.extend(plan.vm_flags());
    args.extend(["--logs".into(), LOGS_IN_CONTAINER.into()]);
    args
}

/// The Compose file as a tree.
pub fn file(plan: &Plan, c: &Compose) -> Yaml {
    let services = (1..=plan.vms()).map(|id| (format!("vm{id}"), service(plan, c, id)));
    Yaml::map([
        ("version", Yaml::s("3.8")),
        ("services", Yaml::map(services)),
        ("networks", Yaml::map([("lamport", Yaml::map(no_pairs()))])),
    ])
}

fn no_pairs() -> Vec<(String, Yaml)> {
    Vec::new()
}

fn service(plan: &Plan, c: &Compose, id: u32) -> Yaml {
    let mut pairs = vec![
        ("image".to_string(), Yaml::s(&c.image)),
        ("hostname".into(), Yaml::s(format!("vm{id}"))),
        ("command".into(), Yaml::strs(&command(plan, c, id))),
        (
            "environment".into(),
            Yaml::map([("LAMPORT_SECRET", Yaml::s(&plan.secret))]),
        ),
    ];
    if let Some(user) = &c.user {
        pairs.push(("user".into(), Yaml::s(user)));
    }
    let bind = Yaml::map([
        ("type", Yaml::s("bind")),
        ("source", Yaml::s(&c.logs)),
        ("target", Yaml::s(LOGS_IN_CONTAINER)),
    ]);
    let restart_policy = Yaml::map([("condition", Yaml::s("none"))]);
    pairs.extend([
        ("volumes".to_string(), Yaml::Seq(vec![bind])),
        ("networks".into(), Yaml::strs(&["lamport"])),
        ("restart".into(), Yaml::s("no")),
        (
            "deploy".into(),
            Yaml::map([("restart_policy", restart_policy)]),
        ),
        (
            "stop_grace_period".into(),
            Yaml::s(format!("{}s", plan.stop_bound().as_secs_f64().ceil())),
        ),
    ]);
    Yaml::Map(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::tests::plan_of;
    use yaml_rust2::YamlLoader;

    fn compose() -> Compose {
        Compose {
            image: "lamport-sim:latest".into(),
            port: 7000,
            logs: "/tmp/run logs".into(),
            user: Some("1000:1000".into()),
        }
    }

    #[test]
    fn each_vm_has_its_id_the_peers_template_and_the_run_options() {
        let plan = plan_of(&["--vms", "3", "--runtime", "5"]);
        let args = command(&plan, &compose(), 2).join(" ");
        assert!(
            args.starts_with(
                "vm --id 2 --vms 3 --peers vm{id}:7000 --listen 0.0.0.0:7000 --run r1 --seed 42 --runtime 5 "
            ),
            "{args}"
        );
        assert!(
            args.ends_with("--connect-timeout 60 --logs /logs"),
            "{args}"
        );
    }

    #[test]
    fn the_file_has_n_services_on_one_network_and_reads_back() {
        let plan = plan_of(&["--vms", "4", "--stop-grace", "2.5"]);
        let tree = file(&plan, &compose());
        let services = tree.get("services").unwrap();
        let Yaml::Map(list) = services else { panic!() };
        let names: Vec<&str> = list.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["vm1", "vm2", "vm3", "vm4"]);
        let vm4 = services.get("vm4").unwrap();
        assert_eq!(vm4.at(&["hostname"]).and_then(Yaml::as_str), Some("vm4"));
        assert_eq!(
            vm4.at(&["stop_grace_period"]).and_then(Yaml::as_str),
            Some("13s")
        );

        let doc = &YamlLoader::load_from_str(&tree.to_text()).unwrap()[0];
        assert_eq!(doc["version"].as_str(), Some("3.8"));
        assert_eq!(doc["services"].as_hash().unwrap().len(), 4);
        let vm3 = &doc["services"]["vm3"];
        assert_eq!(vm3["restart"].as_str(), Some("no"));
        assert_eq!(
            vm3["deploy"]["restart_policy"]["condition"].as_str(),
            Some("none")
        );
        assert_eq!(vm3["user"].as_str(), Some("1000:1000"));
        assert_eq!(
            vm3["environment"]["LAMPORT_SECRET"].as_str(),
            Some(plan.secret.as_str())
        );
        assert_eq!(vm3["volumes"][0]["source"].as_str(), Some("/tmp/run logs"));
        assert_eq!(vm3["volumes"][0]["target"].as_str(), Some("/logs"));
        assert_eq!(vm3["networks"][0].as_str(), Some("lamport"));
        let cmd: Vec<&str> = vm3["command"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(cmd, command(&plan, &compose(), 3));
        assert!(doc["networks"]["lamport"].as_hash().unwrap().is_empty());
    }
}
