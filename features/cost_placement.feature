Feature: Cost placement
  Every GPU workload is pinned to the cheapest compliant cloud, region and
  instance type that still has quota, and the decision says why.

  Background:
    Given a catalog with these offers:
      | cloud | region       | instance type | gpu model | gpus | vcpus | memory gib | price | spot price |
      | aws   | us-east-1    | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 | 27.52      |
      | gcp   | europe-west4 | a3-highgpu-8g | H100      | 8    | 208   | 1872       | 61.00 | 21.00      |
      | aws   | eu-west-1    | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |            |
      | gcp   | us-central1  | g2-standard-4 | L4        | 1    | 4     | 16         | 0.71  | 0.28       |

  Scenario: A training gang goes to the cheapest offer as one unit
    Given a GPU Job with 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is allowed
    And it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And it uses 4 nodes at 220.16 dollars per hour
    And admitting the mutated object again changes nothing

  Scenario: Interruptible work takes the cheapest spot capacity
    Given a GPU Job with 2 replicas of 8 "H100" GPUs
    And the workload is interruptible
    When it is admitted
    Then it is placed in "gcp" "europe-west4" on "a3-highgpu-8g" as "spot"
    And the pods tolerate spot nodes

  Scenario: Quota pushes the gang to the next cheapest region
    Given a quota of 32 "H100" GPUs in "aws" "us-east-1"
    And 16 "H100" GPUs are already in use in "aws" "us-east-1"
    And a GPU Job with 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"

  Scenario: A jurisdiction restriction keeps data in the EU
    Given a GPU Job with 1 replicas of 8 "H100" GPUs
    And placement is restricted to jurisdiction "eu" by policy "residency"
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"
    And the decision names policy "residency"

  Scenario: A pin the policy forbids is denied with the reason
    Given a GPU Job with 1 replicas of 8 "H100" GPUs
    And the workload pins region "us-east-1"
    And placement is restricted to jurisdiction "eu" by policy "residency"
    When it is admitted
    Then it is denied with code "pin-forbidden"

  Scenario: A workload that fits nowhere says which filter emptied the set
    Given a GPU Job with 1 replicas of 16 "H100" GPUs
    When it is admitted
    Then there is no feasible placement because of "capacity"

  Scenario: Work without GPUs passes untouched
    Given a Deployment without GPUs
    When it is admitted
    Then it is allowed
    And nothing is patched
