"""The Python baseline users write today: multiprocessing.Pool(N,
initializer=connect), one connection per worker process, pool.map over
the statements.  Rows a statement returns are fetched.

    pool.py postgresql|mysql WORKERS FILE [BATCH]

Without BATCH each statement commits on its own (autocommit); with it,
each worker runs BATCH statements and commits once.  The servers are the
ones in the environment bench/run (tests/servers.sh) sets.
"""
import multiprocessing
import os
import sys

conn = None


def connect(driver, autocommit):
    global conn
    if driver == "postgresql":
        import psycopg2
        conn = psycopg2.connect(host=os.environ["MPW_PG_SOCKET"], port=os.environ["MPW_PG_PORT"],
                                user="mpw", dbname="mpw")
        conn.autocommit = autocommit
    else:
        import MySQLdb
        conn = MySQLdb.connect(unix_socket=os.environ["MPW_MY_SOCKET"], user="mpw",
                               passwd="mpwpass", db="mpw")
        conn.autocommit(autocommit)


def run(statement):
    cur = conn.cursor()
    cur.execute(statement)
    if cur.description is not None:
        cur.fetchall()
    cur.close()


def run_batch(statements):
    cur = conn.cursor()
    for s in statements:
        cur.execute(s)
    conn.commit()
    cur.close()


if __name__ == "__main__":
    driver, workers, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    with open(path) as f:
        statements = [line.strip() for line in f if line.strip()]
    with multiprocessing.Pool(workers, initializer=connect, initargs=(driver, batch == 0)) as pool:
        if batch:
            pool.map(run_batch, [statements[i:i + batch] for i in range(0, len(statements), batch)])
        else:
            pool.map(run, statements)
