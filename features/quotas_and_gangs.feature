Feature: Quotas and gangs
  All the GPU replicas of one workload are a gang: placed together in one
  cloud, region and instance type, under the quota left there.

  Background:
    Given a catalog with these offers:
      | cloud | region       | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1    | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 |
      | aws   | eu-west-1    | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |
      | gcp   | us-central1  | a3-highgpu-8g | H100      | 8    | 208   | 1872       | 88.49 |

  Scenario: Quota pushes the gang to the next cheapest region
    Given a quota of 32 "H100" GPUs in "aws" "us-east-1"
    And 16 "H100" GPUs are already in use in "aws" "us-east-1"
    And a Job requesting 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"

  Scenario: A gang is never split across regions to fit a quota
    Given a quota of 24 "H100" GPUs in "aws" "us-east-1"
    And a quota of 16 "H100" GPUs in "aws" "eu-west-1"
    And a Job requesting 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "gcp" "us-central1" on "a3-highgpu-8g" as "on-demand"
    And it uses 4 nodes at 353.96 dollars per hour

  Scenario: Exactly the quota left is enough
    Given a quota of 32 "H100" GPUs in "aws" "us-east-1"
    And a Job requesting 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"

  Scenario: No quota left anywhere says so
    Given a quota of 8 "H100" GPUs in "aws" "us-east-1"
    And a quota of 8 "H100" GPUs in "aws" "eu-west-1"
    And a quota of 8 "H100" GPUs in "gcp" "us-central1"
    And a Job requesting 2 replicas of 8 "H100" GPUs
    When it is admitted
    Then there is no feasible placement because "has too little GPU quota left"

  Scenario: A PyTorchJob's master and workers are one gang
    Given a PyTorchJob requesting 4 replicas of 8 "H100" GPUs
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And it uses 4 nodes at 220.16 dollars per hour
    And every GPU pod template is pinned to "aws" "us-east-1" on "p5.48xlarge"

  Scenario: A Ray cluster's head goes to the gang's cloud and region, not its instance type
    Given a RayCluster requesting 2 replicas of 8 "H100" GPUs
    When it is admitted
    Then every GPU pod template is pinned to "aws" "us-east-1" on "p5.48xlarge"
    And the pod template without GPUs is pinned to "aws" "us-east-1" only
