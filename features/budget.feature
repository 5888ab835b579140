Feature: Budget
  Per-team caps on the gang's price per hour and on its estimated cost. The
  rules judge the cheapest compliant placement, so a denial means that no
  compliant placement fits the budget. Above 80% of a cap, a warning.

  Background:
    Given a catalog with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | g6.xlarge     | L4        | 1    | 4     | 16         | 9.00  |
      | aws   | us-east-1 | g6.2xlarge    | L4        | 1    | 8     | 32         | 9.50  |

  Scenario Outline: Team search may spend $10 an hour and $8,000 a workload
    Given a Job requesting <replicas> replicas of 1 "L4" GPU
    And it belongs to team "search"
    And it expects to run for <hours>
    When it is admitted
    Then it is <outcome>

    Examples:
      | replicas | hours | outcome                                    |
      | 1        | 1h    | allowed                                    |
      | 2        | 1h    | denied with code "budget-price-per-hour"   |
      | 1        | 1000h | denied with code "budget-estimated-cost"   |
      | 1        | 800h  | allowed                                    |

  Scenario: Over the hourly cap, the denial names the placement and the cap
    Given a Job requesting 2 replicas of 1 "L4" GPU
    And it belongs to team "search"
    When it is admitted
    Then it is denied with code "budget-price-per-hour"
    And the denial says "the cheapest compliant placement, 2 × g6.xlarge in aws us-east-1 (on-demand), costs $18.00/h: over team search's cap of $10.00/h"

  Scenario: Close to the hourly cap, a warning
    Given a Job requesting 1 replica of 1 "L4" GPU
    And it belongs to team "search"
    When it is admitted
    Then it is allowed
    And it is warned "1 × g6.xlarge in aws us-east-1 (on-demand) costs $9.00/h: 90% of team search's cap of $10.00/h"

  Scenario: Close to the cost cap, a warning
    Given a Job requesting 1 replica of 1 "L4" GPU
    And it belongs to team "search"
    And it expects to run for 800h
    When it is admitted
    Then it is warned "estimated cost $7200.00 is 90% of team search's cap of $8000.00 per workload"

  Scenario: A team with a larger budget is not warned
    Given a Job requesting 1 replica of 1 "L4" GPU
    And it belongs to team "research"
    When it is admitted
    Then it is allowed
    And it is not warned
