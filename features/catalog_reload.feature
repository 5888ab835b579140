Feature: Catalog and quota reload
  The webhook serves its catalog and quotas from files and puts a changed
  file in service without a restart. A file that does not parse is rejected
  and the version in service keeps deciding. Every decision records the
  revision of the catalog that priced it.

  Background:
    Given the webhook reads its catalog from a file with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 55.04 |
      | aws   | eu-west-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |
    And a Job requesting 1 replica of 8 "H100" GPUs

  Scenario: New prices go into service without a restart
    When the catalog file is replaced with these offers:
      | cloud | region    | instance type | gpu model | gpus | vcpus | memory gib | price |
      | aws   | us-east-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 65.00 |
      | aws   | eu-west-1 | p5.48xlarge   | H100      | 8    | 192   | 2048       | 60.54 |
    Then the new version goes into service
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"
    And the decision log records the catalog revision in service

  Scenario: A catalog that does not parse is rejected, and the old one keeps deciding
    When the catalog file is replaced with the text "cloud,region\naws"
    Then the reload is rejected saying "parsing"
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"
    And it uses 1 node at 55.04 dollars per hour

  Scenario: An empty catalog, as a truncated file looks, is rejected
    When the catalog file is replaced with the text "# as-of: 2026-11-01\ncloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n"
    Then the reload is rejected saying "the catalog has no offers"
    When it is admitted
    Then it is placed in "aws" "us-east-1" on "p5.48xlarge" as "on-demand"

  Scenario: A quota change takes effect at once
    Given the webhook reads its quotas from a file allowing 8 "H100" GPUs in "aws" "us-east-1"
    When the quota file is replaced to allow 0 "H100" GPUs in "aws" "us-east-1"
    Then the new version goes into service
    When it is admitted
    Then it is placed in "aws" "eu-west-1" on "p5.48xlarge" as "on-demand"
