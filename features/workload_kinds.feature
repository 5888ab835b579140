Feature: Workload kinds
  Quartermaster finds the pod templates and replica counts of the built-in
  kinds and of the training CRDs, and places every one the same way.

  Background:
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | g6.xlarge     | L4        | 1    | 4     | 16         | 0.80  |
      | aws   | us-east-1 | g6.12xlarge   | L4        | 4    | 48    | 192        | 4.60  |

  Scenario Outline: A <kind> of <replicas> replicas of 1 L4 is placed as a gang
    Given a <kind> requesting <replicas> replicas of 1 "L4" GPU
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "g6.xlarge" as "on-demand"
    And it uses <replicas> nodes at <price> dollars per hour
    And every GPU pod template is pinned to "aws" "us-east-1" on "g6.xlarge"

    Examples:
      | kind        | replicas | price |
      | Pod         | 1        | 0.8   |
      | Job         | 3        | 2.4   |
      | CronJob     | 2        | 1.6   |
      | Deployment  | 2        | 1.6   |
      | StatefulSet | 3        | 2.4   |
      | ReplicaSet  | 1        | 0.8   |
      | PyTorchJob  | 2        | 1.6   |

  Scenario: Four one-GPU replicas share a four-GPU node when that is cheaper
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | g6.xlarge     | L4        | 1    | 4     | 16         | 1.20  |
      | aws   | us-east-1 | g6.12xlarge   | L4        | 4    | 48    | 192        | 4.60  |
    And a Deployment requesting 4 replicas of 1 "L4" GPU
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "g6.12xlarge" as "on-demand"
    And it uses 1 node at 4.6 dollars per hour
