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
