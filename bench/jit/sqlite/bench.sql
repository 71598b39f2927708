-- An in-memory SQLite workload for bench/jit/workloads.sh: 200,000 generated orders over 2,000
-- customers in one transaction, an index, then grouping, joins, sorting and a window function.
-- usage: sqlite3 :memory: < bench.sql   (the results depend on nothing but this file)
.headers off
.mode list

CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, region TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, day INTEGER NOT NULL,
                     item TEXT NOT NULL, quantity INTEGER NOT NULL, price REAL NOT NULL);

BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customers
SELECT i, 'customer-' || printf('%04d', i),
       CASE i % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' WHEN 3 THEN 'west' ELSE 'centre' END
FROM n;
-- A multiplicative hash of the row number stands in for randomness, so every run inserts the same rows.
WITH RECURSIVE n(i, h) AS (SELECT 1, 1 UNION ALL SELECT i + 1, (h * 48271) % 2147483647 FROM n WHERE i < 200000)
INSERT INTO orders
SELECT i, 1 + h % 2000, h / 2003 % 365, 'item-' || (h / 7 % 500), 1 + h / 11 % 9, ((h / 13) % 10000) / 100.0
FROM n;
COMMIT;

CREATE INDEX orders_by_customer ON orders (customer, day);

SELECT 'orders', count(*), sum(quantity), round(sum(quantity * price), 2) FROM orders;

-- Revenue per region (a join and a grouping).
SELECT c.region, count(*), round(sum(o.quantity * o.price), 2)
FROM orders o JOIN customers c ON c.id = o.customer
GROUP BY c.region ORDER BY c.region;

-- The ten best customers (grouping on the index, then a sort).
SELECT c.name, count(*), round(sum(o.quantity * o.price), 2) AS revenue
FROM customers c JOIN orders o ON o.customer = c.id
GROUP BY c.id ORDER BY revenue DESC, c.name LIMIT 10;

-- The five best-selling items of the busiest month (a subquery and a sort of a grouping).
SELECT item, sum(quantity) AS sold FROM orders
WHERE day / 30 = (SELECT day / 30 FROM orders GROUP BY day / 30 ORDER BY count(*) DESC, 1 LIMIT 1)
GROUP BY item ORDER BY sold DESC, item LIMIT 5;

-- Each region's first-day orders, ranked by value (index lookups per customer, a window function).
SELECT region, name, value FROM (
  SELECT c.region, c.name, round(o.quantity * o.price, 2) AS value,
         row_number() OVER (PARTITION BY c.region ORDER BY o.quantity * o.price DESC, o.id) AS rank
  FROM customers c JOIN orders o ON o.customer = c.id AND o.day = 0)
WHERE rank <= 2 ORDER BY region, rank;

-- Customers without any order in the last week of the year (NOT EXISTS on the index).
SELECT count(*) FROM customers c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer = c.id AND o.day >= 358);

-- The distribution of order sizes (a grouping over the whole table, without an index).
SELECT quantity, count(*), round(avg(price), 4) FROM orders GROUP BY quantity ORDER BY quantity;
