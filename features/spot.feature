Feature: Spot capacity and interruptibility
  Spot capacity is used only for workloads that say they can be interrupted;
  their pods then tolerate the spot taint and select spot nodes.

  Background:
    Given a catalog with these offers:
      | cloud | region       | instance type | gpu model | gpus | vcpus | memory gib | price | spot price |
      | aws   | us-east-1    | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 | 27.52      |
      | gcp   | europe-west4 | a3-highgpu-8g | H100      | 8    | 208   | 1872       | 61.00 | 21.00      |
      | aws   | eu-west-1    | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |            |
      | gcp   | us-central1  | a3-highgpu-8g | H100      | 8    | 208   | 1872       | 88.49 | 18.00      |

  Scenario: Interruptible work takes the cheapest spot capacity
    Given a Job requesting 2 replicas of 8 "H100" GPUs
    And it is interruptible
    When it is admitted
    Then it is placed in "gcp" "us-central1" on "a3-highgpu-8g" as "spot"
    And it uses 2 nodes at 36 dollars per hour
    And the pods tolerate spot nodes

  Scenario: Work that cannot be interrupted stays on demand, even where spot is cheaper
    Given a Job requesting 2 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And the pods do not tolerate spot nodes

  Scenario: Interruptible work whose data must stay in the EU takes the EU's cheapest spot capacity
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it is interruptible
    And its data must stay in "eu"
    When it is admitted
    Then it is placed in "gcp" "europe-west4" on "a3-highgpu-8g" as "spot"

  Scenario: Interruptible work pinned where there is no spot capacity runs on demand
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it is interruptible
    And it pins region "eu-west-1"
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"
    And the pods do not tolerate spot nodes

  Scenario: A malformed interruptible annotation is refused with what was expected
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its annotation "quartermaster.io/interruptible" is "yes"
    When it is admitted
    Then it is denied with code "invalid-annotation"
    And the denial says "annotation quartermaster.io/interruptible: value \"yes\" is invalid: want \"true\" or \"false\""
