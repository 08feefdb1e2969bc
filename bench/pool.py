"""The Python baseline users write today: multiprocessing.Pool(N,
initializer=connect), one connection per worker process, autocommit,
pool.map over the statements.

    pool.py postgresql|mysql WORKERS FILE   (environment from tests/servers.sh)
"""
import multiprocessing
import os
import sys

conn = None


def connect(driver):
    global conn
    if driver == "postgresql":
        import psycopg2
        conn = psycopg2.connect(host=os.environ["MPW_PG_SOCKET"], port=os.environ["MPW_PG_PORT"],
                                user="mpw", dbname="mpw")
        conn.autocommit = True
    else:
        import MySQLdb
        conn = MySQLdb.connect(unix_socket=os.environ["MPW_MY_SOCKET"], user="mpw",
                               passwd="mpwpass", db="mpw")
        conn.autocommit(True)


def run(statement):
    cur = conn.cursor()
    cur.execute(statement)
    cur.close()


if __name__ == "__main__":
    driver, workers, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path) as f:
        statements = [line.strip() for line in f if line.strip()]
    with multiprocessing.Pool(workers, initializer=connect, initargs=(driver,)) as pool:
        pool.map(run, statements)
