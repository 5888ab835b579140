Feature: Workload annotations
  Users describe their workload with quartermaster.io/ annotations (contract
  4.1). A malformed value is refused with a message that names the
  annotation, the value and what was expected.

  Scenario Outline: A malformed <annotation> is refused
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And its annotation "<annotation>" is "<value>"
    When it is admitted
    Then it is denied with code "invalid-annotation"
    And the denial says "<annotation>"

    Examples:
      | annotation                            | value     |
      | quartermaster.io/expected-duration    | forever   |
      | quartermaster.io/data-classification  | secret    |
      | quartermaster.io/interruptible        | maybe     |
      | quartermaster.io/dataset-size         | huge      |
      | quartermaster.io/gpu-models           | H100,,    |
      | quartermaster.io/latency-slo          | fast      |

  Scenario: The expected duration prices the decision
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | g6.xlarge     | L4        | 1    | 4     | 16         | 0.80  |
    And a Job requesting 2 replicas of 1 "L4" GPU
    And it expects to run for 36h
    When it is admitted
    Then its estimated cost is 57.6 dollars

  Scenario: The GPU models a workload accepts bound the choice
    Given a Job requesting 1 replica of 1 GPU of any model
    And it accepts the GPU models "A100-80GB"
    When it is admitted
    Then it is placed on "A100-80GB" GPUs
