#pragma once
// A throwaway PostgreSQL cluster for gocp's tests and benchmarks: initdb into a fresh
// temp directory, a `postgres` server on a free port on 127.0.0.1 (and a Unix socket in
// that directory), fsync off, one fresh database per caller. One server per process,
// started on first use and stopped (`pg_ctl stop -m immediate`) and deleted at exit.
//
//     auto db = gocp::Database::open(gocp::test::PostgresServer::instance().create_database());
//
// The server binaries come from $GOCP_PG_BIN if set, else from Debian's
// /usr/lib/postgresql/<version>/bin (the newest). When they are missing, instance()
// throws naming the package to install: a PostgreSQL test never skips. As root, initdb
// and the server run as the `postgres` OS user (PostgreSQL refuses to run as root).
//
// The server is started with PR_SET_PDEATHSIG, so if the test process dies without
// running its destructors (a crash, an abort) the server goes with it. The signal fires
// when the *thread* that started it exits: call instance() first from the main thread.
// Forked child processes must leave with _exit(), so they do not stop the parent's server.

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace gocp::test {

class PostgresServer {
 public:
  /// The process's server: started by the first call, stopped at exit.
  static PostgresServer& instance() {
    static PostgresServer server;
    return server;
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  ~PostgresServer() { stop(); }

  int port() const noexcept { return port_; }
  /// The postmaster: every backend is forked from it.
  pid_t pid() const noexcept { return pid_; }
  /// The directory holding the server's Unix socket (`-k`).
  const std::filesystem::path& socket_dir() const noexcept { return dir_; }
  /// The server's log (stderr): what `SET log_statement = 'all'` on a session writes to.
  std::filesystem::path log_file() const { return dir_ / "server.log"; }

  /// `postgresql://postgres@127.0.0.1:<port>/<database>`, plus `options` if given.
  std::string url(const std::string& database, const std::string& options = "") const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database +
           (options.empty() ? "" : "?" + options);
  }

  /// Stops the server (`pg_ctl stop -m fast`: every session is told and closed, as in a
  /// real restart) and starts it again on the same port, with the same data.
  void restart() {
    stop_server("fast");
    start(port_);
  }

  /// Creates a new, empty database and returns its URL (with `options`).
  std::string create_database(const std::string& options = "") {
    std::string name;
    {
      std::lock_guard lock(mutex_);
      name = "gocp_test_" + std::to_string(++databases_);
    }
    execute("postgres", "CREATE DATABASE " + name);
    return url(name, options);
  }

  /// Runs `sql` (no results wanted) as the superuser in `database`, on its own connection.
  void execute(const std::string& database, const std::string& sql) const {
    auto conn = connect(database);
    std::unique_ptr<PGresult, void (*)(PGresult*)> res(PQexec(conn.get(), sql.c_str()), PQclear);
    const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      throw std::runtime_error("PostgresServer: '" + sql + "' failed: " + PQerrorMessage(conn.get()));
  }

  /// The first column of the first row of `sql` in `database`, as text ("" for none).
  std::string scalar(const std::string& database, const std::string& sql) const {
    auto conn = connect(database);
    std::unique_ptr<PGresult, void (*)(PGresult*)> res(PQexec(conn.get(), sql.c_str()), PQclear);
    if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK)
      throw std::runtime_error("PostgresServer: '" + sql + "' failed: " + PQerrorMessage(conn.get()));
    if (PQntuples(res.get()) == 0 || PQnfields(res.get()) == 0) return "";
    return PQgetvalue(res.get(), 0, 0);
  }

 private:
  using Conn = std::unique_ptr<PGconn, void (*)(PGconn*)>;

  PostgresServer() {
    bin_ = find_binaries();
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (!pw)
        throw std::runtime_error(
            "PostgresServer: running as root, but there is no 'postgres' OS user to run the server as "
            "(the 'postgresql' package creates it: apt-get install postgresql)");
      run_as_ = {pw->pw_uid, pw->pw_gid};
      as_postgres_ = true;
    }
    make_dir();
    try {
      if (!restore_template()) {
        run({bin_ / "initdb", "-D", data_dir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale",
             "--no-sync"},
            dir_ / "initdb.log", "initdb");
        save_template();
      }
      start();
    } catch (...) {
      stop();
      throw;
    }
  }

  std::string data_dir() const { return (dir_ / "data").string(); }

  // initdb takes one to three seconds, and every test process needs a cluster. With
  // GOCP_TEST_PG_TEMPLATE_CACHE defined (tests/CMakeLists.txt does) the first process keeps
  // a copy of its freshly initdb'd, never started data directory in postgres-template/ of
  // the build tree (the parent of the folder the executable is in: build/<tree>/tests/x),
  // and later ones copy it (`cp -a`, ownership kept) instead of running initdb. The copy
  // is published by an atomic rename, so a reader only ever sees a whole one. The folder
  // is found at run time, not compiled in, so one compile command serves every build tree
  // (the CI's dev and plain builds share their objects through ccache).
  std::filesystem::path template_dir() const {
#ifdef GOCP_TEST_PG_TEMPLATE_CACHE
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    // per server major version (the bin dir's parent: .../postgresql/15/bin)
    return exe.parent_path().parent_path() / "postgres-template" /
           ("data-" + bin_.parent_path().filename().string() + "-uid" + std::to_string(geteuid()));
#else
    return {};
#endif
  }

  bool restore_template() const {
    const auto from = template_dir();
    std::error_code ec;
    if (from.empty() || !std::filesystem::exists(from / "PG_VERSION", ec)) return false;
    run({"/bin/cp", "-a", from.string(), data_dir()}, dir_ / "initdb.log", "copying the cached cluster", false);
    return true;
  }

  void save_template() const noexcept {
    const auto to = template_dir();
    if (to.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(to.parent_path(), ec);
    const auto staging = to.string() + ".tmp-" + std::to_string(getpid());
    try {
      run({"/bin/cp", "-a", data_dir(), staging}, dir_ / "initdb.log", "caching the cluster", false);
      std::filesystem::rename(staging, to, ec);  // fails if another process published one first: fine
    } catch (...) {  // a cache is only an optimisation
    }
    std::filesystem::remove_all(staging, ec);
  }

  static std::filesystem::path find_binaries() {
    std::vector<std::filesystem::path> candidates;
    const char* env = std::getenv("GOCP_PG_BIN");
    if (env && *env) candidates.emplace_back(env);  // an explicit choice: only there
    glob_t g{};
    if (candidates.empty() && ::glob("/usr/lib/postgresql/*/bin/initdb", 0, nullptr, &g) == 0) {
      std::vector<std::filesystem::path> found;
      for (std::size_t i = 0; i < g.gl_pathc; ++i) found.emplace_back(std::filesystem::path(g.gl_pathv[i]).parent_path());
      // newest major version first (numeric, so 16 beats 9.6)
      std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return std::stod(a.parent_path().filename().string()) > std::stod(b.parent_path().filename().string());
      });
      candidates.insert(candidates.end(), found.begin(), found.end());
    }
    globfree(&g);
    for (const auto& dir : candidates) {
      if (access((dir / "initdb").c_str(), X_OK) == 0 && access((dir / "postgres").c_str(), X_OK) == 0 &&
          access((dir / "pg_ctl").c_str(), X_OK) == 0)
        return dir;
    }
    throw std::runtime_error(
        "PostgresServer: the PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in " +
        (env && *env ? "$GOCP_PG_BIN (" + std::string(env) + ")" : std::string("/usr/lib/postgresql/*/bin")) +
        ". Install the 'postgresql' package (apt-get install postgresql; .ci/install-deps does), or set "
        "GOCP_PG_BIN to a directory holding them. PostgreSQL tests never skip.");
  }

  void make_dir() {
    auto base = std::filesystem::temp_directory_path();
    // the socket path (<dir>/.s.PGSQL.<port>) must fit in sun_path (108 bytes)
    if (base.string().size() > 60) base = "/tmp";
    sweep_stale_dirs(base);
    std::string pattern = (base / "gocp-pg-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("PostgresServer: mkdtemp failed for " + pattern);
    dir_ = pattern;
    std::ofstream(dir_ / "owner.pid") << getpid() << '\n';
    if (as_postgres_ && chown(dir_.c_str(), run_as_.uid, run_as_.gid) != 0)
      throw std::runtime_error("PostgresServer: cannot chown " + dir_.string() + " to the postgres user");
  }

  /// Removes the directories of earlier test processes that died without cleaning up
  /// (killed, crashed): those whose owner.pid names a process that no longer exists.
  /// (Their servers are already gone: see PR_SET_PDEATHSIG.)
  static void sweep_stale_dirs(const std::filesystem::path& base) noexcept {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() != 14 || name.rfind("gocp-pg-", 0) != 0) continue;
      long owner = 0;
      if (!(std::ifstream(it->path() / "owner.pid") >> owner) || owner <= 0) continue;  // being set up
      if (::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;         // alive
      std::error_code ignored;
      std::filesystem::remove_all(it->path(), ignored);
    }
  }

  struct Ids {
    uid_t uid = 0;
    gid_t gid = 0;
  };

  /// Forks and execs `argv` (as the postgres user if `as_postgres`), output to `log`. Returns the pid.
  pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log, bool die_with_parent,
              bool as_postgres) const {
    // Everything the child needs is prepared before fork: after it, only syscalls.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("PostgresServer: cannot open " + log.string());
    if (as_postgres && fchown(fd, run_as_.uid, run_as_.gid) != 0) {
      ::close(fd);
      throw std::runtime_error("PostgresServer: cannot chown " + log.string());
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      ::close(fd);
      throw std::runtime_error("PostgresServer: fork failed");
    }
    if (pid == 0) {
      const int null_in = ::open("/dev/null", O_RDONLY);
      if (null_in >= 0) dup2(null_in, 0);
      dup2(fd, 1);
      dup2(fd, 2);
      if (as_postgres) {
        if (setgroups(1, &run_as_.gid) != 0 || setgid(run_as_.gid) != 0 || setuid(run_as_.uid) != 0) _exit(126);
      }
      // after setuid, which clears it; then make sure the parent did not already die
      if (die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || getppid() != parent)) _exit(125);
      execve(args[0], args.data(), environ);
      _exit(127);
    }
    ::close(fd);
    return pid;
  }

  /// Runs a command to completion; throws with its log if it fails.
  void run(const std::vector<std::string>& argv, const std::filesystem::path& log, const std::string& what,
           bool as_postgres = true) const {
    const pid_t pid = spawn(argv, log, false, as_postgres && as_postgres_);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw std::runtime_error("PostgresServer: " + what + " failed (status " + std::to_string(status) + "): " +
                               tail(log));
  }

  static std::string tail(const std::filesystem::path& log) {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? "..." + s.substr(s.size() - 2000) : s;
  }

  static int free_port() {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) throw std::runtime_error("PostgresServer: socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(s);
      throw std::runtime_error("PostgresServer: cannot find a free port");
    }
    ::close(s);
    return ntohs(addr.sin_port);
  }

  /// Starts the server on `fixed_port`, or (0) on a free port.
  void start(int fixed_port = 0) {
    const auto log = dir_ / "server.log";
    for (int attempt = 1;; ++attempt) {
      port_ = fixed_port ? fixed_port : free_port();
      pid_ = spawn({(bin_ / "postgres").string(), "-D", data_dir(), "-k", dir_.string(), "-p", std::to_string(port_),
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
                    "synchronous_commit=off", "-c", "shared_buffers=32MB", "-c", "max_connections=120"},
                   log, true, as_postgres_);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;  // it exited: most likely the port was taken between free_port() and bind
        }
        const std::string port = std::to_string(port_);
        const char* keys[] = {"host", "port", "dbname", "user", "connect_timeout", nullptr};
        const char* values[] = {"127.0.0.1", port.c_str(), "postgres", "postgres", "2", nullptr};
        if (PQpingParams(keys, values, 0) == PQPING_OK) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (pid_ > 0) {  // alive but never ready
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw std::runtime_error("PostgresServer: the server did not accept connections within 60 s: " + tail(log));
      }
      if (attempt == 5) throw std::runtime_error("PostgresServer: the server would not start: " + tail(log));
    }
  }

  void stop() noexcept {
    stop_server("immediate");
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  void stop_server(const char* mode) noexcept {
    if (pid_ > 0) {
      try {
        run({(bin_ / "pg_ctl").string(), "stop", "-D", data_dir(), "-m", mode, "-w", "-t", "30"},
            dir_ / "pg_ctl.log", "pg_ctl stop");
      } catch (...) {
        kill(pid_, SIGQUIT);  // what -m immediate sends
      }
      int status = 0;
      for (int i = 0; i < 500; ++i) {  // reap it (it is our child); 5 s, then force
        if (waitpid(pid_, &status, WNOHANG) != 0) break;
        if (i == 499) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      pid_ = -1;
    }
  }

  Conn connect(const std::string& database) const {
    const std::string port = std::to_string(port_);
    const char* keys[] = {"host", "port", "dbname", "user", nullptr};
    const char* values[] = {"127.0.0.1", port.c_str(), database.c_str(), "postgres", nullptr};
    Conn conn(PQconnectdbParams(keys, values, 0), PQfinish);
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
      throw std::runtime_error("PostgresServer: cannot connect to " + url(database) + ": " +
                               (conn ? PQerrorMessage(conn.get()) : "out of memory"));
    PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
    return conn;
  }

  std::filesystem::path bin_;
  std::filesystem::path dir_;
  bool as_postgres_ = false;
  Ids run_as_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  int databases_ = 0;
};

}  // namespace gocp::test
