Feature: Inference
  An inference workload that states its request rate, its service time on a
  GPU model and its latency objective is checked against them on the chosen
  GPU model: a replica count that cannot meet the objective is admitted with
  a warning saying why.

  Background:
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | g6.xlarge     | L4        | 1    | 4     | 16         | 0.80  |

  Scenario: Enough replicas meet the objective without a word
    Given a Deployment requesting 12 replicas of 1 "L4" GPU
    And it serves 40 requests per second at 120ms@L4 per request with a p99 objective of 2s
    When it is admitted
    Then it is allowed
    And it is not warned

  Scenario: Too few replicas are warned about
    Given a Deployment requesting 2 replicas of 1 "L4" GPU
    And it serves 40 requests per second at 120ms@L4 per request with a p99 objective of 500ms
    When it is admitted
    Then it is allowed
    And it is warned "quartermaster: "

  Scenario: An objective shorter than the service time cannot be met at any replica count
    Given a Deployment requesting 12 replicas of 1 "L4" GPU
    And it serves 40 requests per second at 120ms@L4 per request with a p99 objective of 100ms
    When it is admitted
    Then it is allowed
    And it is warned "at any replica count"
