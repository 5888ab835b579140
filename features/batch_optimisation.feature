Feature: Batch optimisation
  Many workloads placed at once, at the lowest total cost the quotas allow,
  with a proof of optimality (qm optimize).

  Background:
    Given a catalog with these offers:
      | cloud | region      | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1   | g6.xlarge     | L4        | 1    | 4     | 16         | 1.2   |
      | gcp   | us-central1 | g2-standard-4 | L4        | 1    | 4     | 16         | 1.5   |

  Scenario: The worked example: the cheaper cloud takes what its quota allows
    Given a quota of 40 "L4" GPUs in "aws" "us-east-1"
    And 10 one-hour Jobs of 10 "L4" GPUs each
    When they are placed together
    Then 40 GPU-hours go to "aws" and 60 to "gcp"
    And the total cost is 138 dollars
    And the assignment is proven optimal

  Scenario: Without a quota everything goes to the cheaper cloud
    Given 10 one-hour Jobs of 10 "L4" GPUs each
    When they are placed together
    Then 100 GPU-hours go to "aws" and 0 to "gcp"
    And the total cost is 120 dollars

  Scenario: A workload policy denies is left out, the others are placed
    Given 3 one-hour Jobs of 10 "L4" GPUs each
    And the last of them runs a privileged container
    When they are placed together
    Then 1 of them is left out, denied with code "access-privileged"
    And 20 GPU-hours go to "aws" and 0 to "gcp"

  Scenario: The policies' restrictions bind each workload of the batch
    Given a catalog with these offers:
      | cloud | region      | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1   | g6.xlarge     | L4        | 1    | 4     | 16         | 1.2   |
      | aws   | eu-west-1   | g6.xlarge     | L4        | 1    | 4     | 16         | 1.4   |
    And 2 one-hour Jobs of 10 "L4" GPUs each
    And the data of the last of them must stay in "eu"
    When they are placed together
    Then the last of them goes to "aws" "eu-west-1"
    And the total cost is 26 dollars
