#!/usr/bin/env bash
# Fills a MariaDB/MySQL database with a generated GOFLY (go-fly) data set
# for the import benchmark (docs/benchmarks.md, docs/import-gofly.md):
#   scripts/gofly-generate.sh [DATABASE] [MESSAGES] [VISITORS]
# defaults: gofly_bench, 8000000 messages, 200000 visitors, 20 agents.
# Uses MariaDB's SEQUENCE engine (seq_0_to_N tables) and INSERT … SELECT, a
# million rows per statement. Drops and recreates DATABASE. Connection:
# MYSQL_ARGS (default "-uroot -h127.0.0.1").
set -euo pipefail
db=${1:-gofly_bench}
messages=${2:-8000000}
visitors=${3:-200000}
args=${MYSQL_ARGS:--uroot -h127.0.0.1}
here=$(cd "$(dirname "$0")/.." && pwd)
sql() { mariadb --default-character-set=utf8mb4 $args "$@"; }

sql -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"
sql "$db" < "$here/crates/kefu-server/tests/gofly/schema.sql"
sql "$db" <<SQL
SET time_zone = '+00:00';
INSERT INTO user (name, password, nickname, created_at)
  SELECT CONCAT('kefu', seq), MD5(seq), CONCAT('客服', seq), FROM_UNIXTIME(1600000000 + seq) FROM seq_1_to_20;
UPDATE user SET deleted_at = FROM_UNIXTIME(1650000000) WHERE id = 20;
INSERT INTO visitor (name, visitor_id, to_id, source_ip, client_ip, city, refer, created_at, updated_at)
  SELECT IF(seq % 7 = 0, '', CONCAT('访客', seq)), CONCAT('v', LPAD(seq, 8, '0')), CONCAT('kefu', 1 + seq % 20),
         CONCAT('10.', seq % 250, '.', seq % 200, '.1'), CONCAT('203.0.', seq % 250, '.', seq % 200),
         ELT(1 + seq % 4, '北京', '上海', 'Shenzhen', ''), IF(seq % 3 = 0, 'https://www.baidu.com/s?wd=客服', ''),
         FROM_UNIXTIME(1700000000 + seq), FROM_UNIXTIME(1700000000 + seq)
  FROM seq_0_to_$((visitors - 1));
INSERT INTO reply_group (group_name, user_id) VALUES ('常见问题', 'kefu1');
INSERT INTO reply_item (content, group_id, user_id, item_name)
  SELECT CONCAT('回答 ', seq, ' link[https://example.com/faq/', seq, ']'), 1, CONCAT('kefu', 1 + seq % 20), CONCAT('问题', seq) FROM seq_1_to_200;
INSERT INTO welcome (user_id, keyword, content, is_default) VALUES ('kefu1', 'welcome', '您好，请问有什么可以帮您？', 1);
INSERT INTO ipblack (ip, kefu_id) SELECT CONCAT('192.0.2.', seq), 'kefu1' FROM seq_1_to_50;
SQL
# Messages a million at a time, four chats at once, eight lines each (so
# about a million conversations), agents answering every third line; one
# line every 4 s, so a year in all.
chunk=1000000
for ((start = 0; start < messages; start += chunk)); do
  end=$((start + chunk < messages ? start + chunk : messages))
  sql "$db" <<SQL
SET time_zone = '+00:00';
INSERT INTO message (kefu_id, visitor_id, content, created_at, mes_type, status)
  SELECT CONCAT('kefu', 1 + (seq DIV 3) % 20),
         CONCAT('v', LPAD(((seq DIV 32) * 4 + seq % 4) % $visitors, 8, '0')),
         ELT(1 + seq % 8, '你好，请问这个什么时候发货？', 'Hi, is this still available? 🙏',
             CONCAT('订单号 ', seq, ' 还没收到 😢'), CONCAT('img[/static/upload/2024/05/01/', seq, '.png]'), 'face[微笑] 好的，谢谢',
             'Could you send me the invoice? 谢谢!', '亲，已经为您加急处理了 🚚', 'OK 👍'),
         FROM_UNIXTIME(1700000000 + seq * 4),
         IF(seq % 3 = 2, 'kefu', 'visitor'), 'read'
  FROM seq_${start}_to_$((end - 1));
SQL
  echo "messages: $end / $messages"
done
sql "$db" -e "SELECT COUNT(*) AS messages FROM message; SELECT COUNT(*) AS visitors FROM visitor"
