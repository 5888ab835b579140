Feature: Inference
  An inference workload that states its request rate, its service time on a
  GPU model and its latency objective is checked against them on the chosen
  GPU model: a replica count that cannot meet the objective is admitted with
  a warning saying why. One that leaves its replica count to admission
  (quartermaster.io/replicas: auto) gets the cheapest offer and count that
  meet it, chosen together with the M/M/c model.

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

  Scenario: A workload that leaves its replica count to admission is sized with its offer
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | g6.xlarge     | L4        | 1    | 4     | 16         | 0.80  |
      | aws   | us-east-1 | g5.xlarge     | A10G      | 1    | 4     | 16         | 1.01  |
    And a Deployment requesting 1 replicas of 1 "L4" GPU
    And it accepts the GPU models "L4,A10G"
    And it belongs to team "search"
    And it serves 300 requests per second at 40ms@L4 per request with a p99 objective of 200ms
    And it leaves its replica count to admission
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "g5.xlarge" as "on-demand"
    And it is sized to 7 replicas with a predicted p99 under 200ms
    And it is warned "sized to 7 replicas on A10G"

  Scenario: Sizing needs a replica count to set
    Given a Job requesting 1 replicas of 1 "L4" GPU
    And it serves 40 requests per second at 120ms@L4 per request with a p99 objective of 2s
    And it leaves its replica count to admission
    When it is admitted
    Then it is denied with code "invalid-annotation"
