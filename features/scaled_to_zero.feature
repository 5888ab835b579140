Feature: Workloads scaled to zero
  A workload with no GPU replicas holds no GPUs, so no quota limits it; it is
  still judged by policy and pinned where one replica of each pod set would
  go, so that a later scale-up lands on a compliant place.

  Background:
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 |
      | aws   | eu-west-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |

  Scenario: Created at zero replicas in a full region, it is pinned where one replica goes
    Given a quota of 32 "H100" GPUs in "aws" "us-east-1"
    And 32 "H100" GPUs are already in use in "aws" "us-east-1"
    And a Deployment requesting 0 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And the decision says it is scaled to zero
    And it uses 1 node at 55.04 dollars per hour

  Scenario: At zero replicas, policy still judges it
    Given a Deployment requesting 0 replicas of 8 "H100" GPUs
    And its data must stay in "eu"
    And it pins region "us-east-1"
    When it is admitted
    Then it is denied with code "residency-pin-outside"
