Feature: Policy enforcement modes and exemptions
  A security team rolls a rule out gently, and exempts namespaces, by
  editing the policy library's data: no Rego and no Go changes. A rule or a
  package is enforced (deny), in warn mode (the denial becomes a warning) or
  in dry-run mode (recorded, not applied); a rule's mode beats its package's.

  Scenario Outline: A privileged GPU pod under the access rule in <mode> mode
    Given the security team sets the rule "access-privileged" to <mode> mode
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it runs a privileged container
    When it is admitted
    Then it is <outcome>

    Examples:
      | mode    | outcome                                 |
      | enforce | denied with code "access-privileged"    |
      | warn    | warned "access-privileged: pod set template runs a privileged container" |
      | dryrun  | allowed                                 |

  Scenario: A package in warn mode warns for every rule of it
    Given the security team sets the package "access" to warn mode
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it runs as the default service account
    And it uses the host network
    When it is admitted
    Then it is allowed
    And it is warned "access-default-service-account"
    And it is warned "access-host-network"

  Scenario: A rule's own mode beats its package's
    Given the security team sets the package "access" to warn mode
    And the security team sets the rule "access-host-network" to enforce mode
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it uses the host network
    When it is admitted
    Then it is denied with code "access-host-network"

  Scenario: In dry-run mode a package's restrictions are not applied
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 |
      | aws   | eu-west-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |
    And the security team sets the package "residency" to dryrun mode
    And a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"

  Scenario: A namespace prefix exempts from policy, and the workload is still placed
    Given the security team exempts the namespaces "sandbox-*"
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it runs in namespace "sandbox-alice"
    And it runs a privileged container
    When it is admitted
    Then it is allowed
    And it is placed on "H100" GPUs

  Scenario: Outside the exempt prefix, policy applies
    Given the security team exempts the namespaces "sandbox-*"
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it runs in namespace "sandboxes"
    And it runs a privileged container
    When it is admitted
    Then it is denied with code "access-privileged"
