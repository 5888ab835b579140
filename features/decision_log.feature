Feature: Decision log integrity
  Every decision is one JSON line, hash-chained to the line before, so that
  an edited, replaced or deleted line is found and named.

  Background:
    Given the webhook keeps a decision log
    And a Job requesting 1 replica of 8 "H100" GPUs

  Scenario: Every decision is recorded and the chain verifies
    When 3 workloads like it are admitted one after the other
    Then the decision log verifies with 3 lines

  Scenario: A dry run leaves no line
    When it is admitted as a dry run
    Then it is allowed
    And no decision is recorded
    And the decision log verifies with 0 lines

  Scenario: A denial is recorded too
    Given it runs a privileged container
    When 2 workloads like it are admitted one after the other
    Then it is denied with code "access-privileged"
    And the decision log verifies with 2 lines

  Scenario: An edited line is named
    When 3 workloads like it are admitted one after the other
    And someone changes "patched" to "allowed" in line 2 of the decision log
    Then verifying the decision log names line 2: "content does not match its sum (edited)"

  Scenario: A line edited with a fresh sum breaks the next line's link
    When 3 workloads like it are admitted one after the other
    And someone changes "patched" to "allowed" in line 2 of the decision log and recomputes its sum
    Then verifying the decision log names line 2: "altered (or line 3, the last, replaced): line 3 records a different hash for it"

  Scenario: A deleted line is found
    When 3 workloads like it are admitted one after the other
    And someone deletes line 2 of the decision log
    Then verifying the decision log names line 2: "sequence 3 where 2 was expected: the line with sequence 2 was removed"
