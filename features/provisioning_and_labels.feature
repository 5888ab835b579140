Feature: Provisionable offers and label profiles
  The patch pins the node labels of the cluster's own convention (its label
  profile), and only offers the cluster can provide, from a Ready node or a
  Karpenter NodePool, are candidates: a pin nothing can honour would leave
  the pods Pending forever.

  Background:
    Given a catalog with these offers:
      | cloud | region      | instance type | gpu model | gpus | vcpus | memory gib | price | spot price |
      | gcp   | us-central1 | a3-highgpu-8g | H100      | 8    | 208   | 1872       | 50.00 |            |
      | aws   | us-east-1   | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 | 27.52      |
      | aws   | eu-west-1   | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 | 30.27      |

  Scenario: Only offers with a Ready node are candidates, and the decision says what was skipped
    Given the cluster has these Ready nodes:
      | name  | labels                                                                                                                                   |
      | gpu-1 | quartermaster.io/cloud=aws topology.kubernetes.io/region=eu-west-1 node.kubernetes.io/instance-type=p5.48xlarge quartermaster.io/capacity-type=on-demand |
    And a Job requesting 1 replica of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"
    And the decision says the cheaper "gcp" "us-central1" was skipped as not provisionable

  Scenario: Nothing the cluster can provide is named as the reason
    Given the cluster has these Ready nodes:
      | name  | labels                                                                                                                              |
      | cpu-1 | quartermaster.io/cloud=aws topology.kubernetes.io/region=us-east-1 node.kubernetes.io/instance-type=m7i.large quartermaster.io/capacity-type=on-demand |
    And a Job requesting 1 replica of 8 "H100" GPUs
    When it is admitted
    Then there is no feasible placement because "provision"

  Scenario: A Karpenter cluster gets Karpenter's labels, on-demand pinned, and stays in its cloud
    Given the cluster labels its nodes the "karpenter" way
    And the cluster has a Karpenter NodePool "gpu" for instance types "p5.48xlarge" in region "us-east-1"
    And a Job requesting 1 replica of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And every GPU pod template requires "karpenter.sh/capacity-type" to be "on-demand"
    And every GPU pod template requires "topology.kubernetes.io/region" to be "us-east-1"
    And no pod template mentions the label "quartermaster.io/cloud"

  Scenario Outline: Spot capacity in the <profile> convention
    Given the cluster labels its nodes the "<profile>" way
    And a Job requesting 1 replica of 8 "H100" GPUs
    And it accepts the GPU models "H100"
    And it is interruptible
    And it pins region "us-east-1"
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "spot"
    And every GPU pod template requires "<capacity label>" to be "<spot value>"

    Examples:
      | profile       | capacity label                 | spot value |
      | quartermaster | quartermaster.io/capacity-type | spot       |
      | karpenter     | karpenter.sh/capacity-type     | spot       |
      | eks           | eks.amazonaws.com/capacityType | SPOT       |

  Scenario: The quartermaster convention tolerates its spot taint
    Given a Job requesting 1 replica of 8 "H100" GPUs
    And it is interruptible
    And it pins region "us-east-1"
    When it is admitted
    Then every GPU pod template tolerates the taint "quartermaster.io/spot"
    And every GPU pod template requires "quartermaster.io/cloud" to be "aws"
