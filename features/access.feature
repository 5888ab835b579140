Feature: Access control
  Who may run what: known teams, allowed registries, no host access or
  privileged containers, no default service account, per-team GPU models and
  sizes, and large on-demand top-tier requests only from allowed groups.

  Scenario Outline: Access rules
    Given a Job requesting <replicas> replicas of 8 "<model>" GPUs
    And <what>
    When it is admitted
    Then it is <outcome>

    Examples:
      | replicas | model     | what                                                      | outcome                                          |
      | 1        | H100      | it belongs to team "research"                             | allowed                                          |
      | 1        | H100      | it belongs to team "marketing"                            | denied with code "access-unknown-team"           |
      | 1        | H100      | it names no team                                          | denied with code "access-unknown-team"           |
      | 1        | H100      | it runs the image "docker.io/evil/miner:1"                | denied with code "access-registry"               |
      | 1        | H100      | it runs the image "pytorch"                               | denied with code "access-registry"               |
      | 1        | H100      | it runs the image "nvcr.io/nvidia/pytorch:24.10-py3"      | allowed                                          |
      | 1        | H100      | it runs a privileged container                            | denied with code "access-privileged"             |
      | 1        | H100      | it uses the host network                                  | denied with code "access-host-network"           |
      | 1        | H100      | it uses the host PID namespace                            | denied with code "access-host-pid"               |
      | 1        | H100      | it mounts the host path "/var/run"                        | denied with code "access-host-path"              |
      | 1        | H100      | it runs as the default service account                    | denied with code "access-default-service-account" |
      | 1        | H100      | it belongs to team "vision"                               | denied with code "access-gpu-model"              |
      | 3        | A100-80GB | it belongs to team "vision"                               | denied with code "access-max-gpus"               |
      | 1        | A100-80GB | it belongs to team "vision"                               | allowed                                          |
      | 6        | H100      | it expects to run for 1h                                  | denied with code "access-top-tier-group"         |
      | 6        | H100      | it is submitted by a member of "ml-platform"              | allowed                                          |
      | 6        | H100      | it is interruptible                                       | allowed                                          |

  Scenario: An unknown team is told which teams exist
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it belongs to team "marketing"
    When it is admitted
    Then it is denied with code "access-unknown-team"
    And the denial says "team \"marketing\" is not known: known teams are finance, nlp, research, search, vision"

  Scenario: The team comes from the namespace's label when the workload names none
    Given the namespace "ledger" is labelled with team "finance"
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it names no team
    And it runs in namespace "ledger"
    When it is admitted
    Then it is allowed

  Scenario: A team's GPU models restrict where a workload of any model goes
    Given a Job requesting 1 replica of 1 GPU of any model
    And it belongs to team "search"
    When it is admitted
    Then it is allowed
    And the decision names policy "quartermaster.access"

  Scenario: A large request that could use other models is steered to them
    Given a Job requesting 6 replicas of 8 "H100,A100-80GB" GPUs
    When it is admitted
    Then it is placed on "A100-80GB" GPUs
