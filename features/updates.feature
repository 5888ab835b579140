Feature: Updates and scaling of placed workloads
  An admitted workload is updated many times: labelled, scaled, rolled out,
  re-applied, deleted. While nothing its decision depends on changes, the
  recorded decision is kept; a changed pod template is placed again without
  its own pods counting against the quota.

  Background:
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 |
      | aws   | eu-west-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |
    And a quota of 32 "H100" GPUs in "aws" "us-east-1"
    And a Deployment requesting 4 replicas of 8 "H100" GPUs
    And it is admitted
    And its own pods hold 32 "H100" GPUs in "aws" "us-east-1"

  Scenario: A label changes nothing the decision depends on
    When it is labelled "owner" with "alice"
    Then the recorded decision is kept
    And nothing is patched

  Scenario: Scaling up past the quota is not refused
    When it is scaled to 6 replicas
    Then the recorded decision is kept
    And nothing is patched

  Scenario: A new image is placed again, without competing with its own pods for quota
    When its image is changed to "ghcr.io/example/train:2.5"
    Then it is placed again
    And it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"

  Scenario: A change that policy forbids refuses the update
    When its image is changed to "docker.io/evil/miner:1"
    Then it is denied with code "access-registry"

  Scenario: A new residency moves it
    When its annotation "quartermaster.io/residency" is changed to "eu"
    Then it is placed again
    And it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"

  Scenario: A kubectl replace that drops the decision gets it back
    When it is replaced by a manifest without Quartermaster's annotation and pins
    Then the recorded decision is kept
    And the stored object carries the first decision again

  Scenario: Scaled to zero, it keeps its decision and its pins for the next scale-up
    When it is scaled to 0 replicas
    Then the recorded decision is kept
    And nothing is patched
    And the stored object carries the first decision again

  Scenario: Removing the finalizers of a workload being deleted is never in the way
    When its finalizers are removed while it is being deleted
    Then it is allowed
    And nothing is patched
    And no decision is recorded

  Scenario: Deleting it is allowed at once
    When it is deleted
    Then it is allowed
    And nothing is patched
    And no decision is recorded
