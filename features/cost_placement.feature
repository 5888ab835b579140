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
    Given a Job requesting 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is allowed
    And it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And it uses 4 nodes at 220.16 dollars per hour
    And every GPU pod template is pinned to "aws" "us-east-1" on "p5.48xlarge"
    And admitting the mutated object again changes nothing

  Scenario: The decision keeps the runner-up and the estimated cost
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it expects to run for 10h
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And its estimated cost is 550.4 dollars
    And the decision lists the next cheapest placement in "aws" "eu-west-1"

  Scenario: Data residency keeps the data in the EU, and the decision says which policy
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its data must stay in "eu"
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"
    And the decision names policy "quartermaster.residency"

  Scenario: A pin the policy forbids is denied with the reason
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it pins region "us-east-1"
    And its data must stay in "eu"
    When it is admitted
    Then it is denied with code "residency-pin-outside"
    And the denial says "pins region us-east-1 (us) but its data must stay in eu"

  Scenario: A pin to a compliant region is kept
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it pins region "eu-west-1"
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"

  Scenario: The cheapest acceptable model wins
    Given a Job requesting 1 replica of 1 GPU of any model
    When it is admitted
    Then it is placed on "L4" GPUs
    And it uses 1 node at 0.71 dollars per hour

  Scenario: A workload that fits nowhere says which filter emptied the set
    Given a Job requesting 1 replica of 16 "H100" GPUs
    When it is admitted
    Then there is no feasible placement because "no allowed node shape fits one replica"

  Scenario: A GPU model the catalog does not offer is named
    Given a Job requesting 1 replica of 1 "T4" GPU
    When it is admitted
    Then there is no feasible placement because "the catalog has no offer of T4"

  Scenario: Work without GPUs passes untouched
    Given a Deployment without GPUs
    When it is admitted
    Then it is allowed
    And nothing is patched
