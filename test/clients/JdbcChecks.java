// The client matrix's pgjdbc program (Debian libpostgresql-jdbc-java), run as a single-file
// source program: java -cp /usr/share/java/postgresql.jar JdbcChecks.java RUNS_FILE
// RUNS_FILE has one run per line, tab-separated:
//   name host port database user password caPath table readOnly(true|false)
// Prints one JSON object: {"run name": {"check": "outcome", ...}, ...}. An outcome is what a
// user would observe (values, or the SQLSTATE of an error), comparable between runs.
import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;

public class JdbcChecks {
  record Run(String name, String host, int port, String database, String user, String password, String ca, String table, boolean readOnly) {}

  interface Check { String run(Run r) throws Exception; }

  static Connection connect(Run r) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", r.user());
    p.setProperty("password", r.password());
    p.setProperty("sslmode", "verify-full");
    p.setProperty("sslrootcert", r.ca());
    p.setProperty("connectTimeout", "20");
    return DriverManager.getConnection("jdbc:postgresql://" + r.host() + ":" + r.port() + "/" + r.database(), p);
  }

  /** An error as a user sees it: its SQLSTATE (the first one a batch reports). */
  static String state(SQLException e) {
    SQLException next = e.getNextException();
    String s = e.getSQLState() != null ? e.getSQLState() : next != null ? next.getSQLState() : null;
    return s != null ? s : "error " + e.getMessage();
  }

  static String one(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  /** An exception and its causes, for errors pgjdbc wraps ("The connection attempt failed."). */
  static String causes(Throwable t) {
    StringBuilder b = new StringBuilder(String.valueOf(t));
    for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) b.append(" <- ").append(c);
    return b.toString();
  }

  static String md5(String s) throws Exception {
    StringBuilder b = new StringBuilder();
    for (byte x : MessageDigest.getInstance("MD5").digest(s.getBytes(StandardCharsets.UTF_8))) b.append(String.format("%02x", x));
    return b.toString();
  }

  static final LinkedHashMap<String, Check> CHECKS = new LinkedHashMap<>();
  static {
    CHECKS.put("login", r -> {
      try (Connection c = connect(r)) { return one(c, "select current_user is not null"); }
    });
    CHECKS.put("parameters", r -> {
      try (Connection c = connect(r); PreparedStatement ps = c.prepareStatement("select ?::int4 + 1, ?::text, length(?::bytea)")) {
        ps.setInt(1, 42);
        ps.setString(2, "café ✓");
        ps.setBytes(3, new byte[] {0, 1, (byte) 255});
        try (ResultSet rs = ps.executeQuery()) { rs.next(); return rs.getInt(1) + "|" + rs.getString(2) + "|" + rs.getInt(3); }
      }
    });
    CHECKS.put("transactions", r -> {
      try (Connection c = connect(r)) {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement()) {
          st.executeUpdate("insert into " + r.table() + " (id, v) values (1, 'rolled back')");
          c.rollback();
          String afterRollback = one(c, "select count(*) from " + r.table() + " where id = 1");
          st.executeUpdate("insert into " + r.table() + " (id, v) values (1, 'committed')");
          c.commit();
          return "rollback " + afterRollback + ", commit " + one(c, "select count(*) from " + r.table() + " where id = 1");
        } catch (SQLException e) {
          c.rollback();
          return state(e);
        }
      }
    });
    CHECKS.put("error then reuse", r -> {
      try (Connection c = connect(r); Statement st = c.createStatement()) {
        List<String> seen = new ArrayList<>();
        try { st.executeQuery("select 1/0"); } catch (SQLException e) { seen.add(state(e)); }
        c.setAutoCommit(false);
        try { st.executeQuery("select 1/0"); } catch (SQLException e) { seen.add(state(e)); }
        try { st.executeQuery("select 1"); } catch (SQLException e) { seen.add(state(e)); }
        c.rollback();
        c.setAutoCommit(true);
        seen.add(one(c, "select 3"));
        return String.join(",", seen);
      }
    });
    CHECKS.put("large value", r -> {
      String big = "x".repeat(10 * 1024 * 1024);
      try (Connection c = connect(r); PreparedStatement ps = c.prepareStatement("select length(t), md5(t) from (select ?::text as t) s")) {
        ps.setString(1, big);
        String sent;
        try (ResultSet rs = ps.executeQuery()) { rs.next(); sent = rs.getInt(1) + "|" + rs.getString(2); }
        String back = one(c, "select repeat('y', 10485760)");
        return sent + "|" + back.length() + "|" + md5(back);
      }
    });
    CHECKS.put("100k rows", r -> {
      try (Connection c = connect(r)) {
        c.setAutoCommit(false); // a fetch size reads through a portal, 1,000 rows at a time
        try (Statement st = c.createStatement()) {
          st.setFetchSize(1000);
          long n = 0, sum = 0;
          try (ResultSet rs = st.executeQuery("select g, md5(g::text) from generate_series(1, 100000) g")) {
            while (rs.next()) { n++; sum += rs.getLong(1); }
          }
          c.commit();
          return n + "|" + sum;
        }
      }
    });
    CHECKS.put("copy out", r -> {
      try (Connection c = connect(r)) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new CopyManager(c.unwrap(org.postgresql.core.BaseConnection.class)).copyOut("copy (select g, 'é' || g from generate_series(1, 1000) g) to stdout", out);
        String text = out.toString(StandardCharsets.UTF_8);
        return text.split("\n").length + "|" + md5(text);
      }
    });
    CHECKS.put("copy in", r -> {
      try (Connection c = connect(r)) {
        StringBuilder b = new StringBuilder();
        for (int i = 1001; i <= 2000; i++) b.append(i).append("\tcopied é ").append(i).append('\n');
        try {
          long n = new CopyManager(c.unwrap(org.postgresql.core.BaseConnection.class)).copyIn("copy " + r.table() + " (id, v) from stdin", new StringReader(b.toString()));
          return n + "|" + one(c, "select count(*) from " + r.table() + " where v like 'copied é %'");
        } catch (SQLException e) { return state(e); }
      }
    });
    CHECKS.put("listen/notify", r -> {
      try (Connection listener = connect(r); Connection sender = connect(r)) {
        String channel = "ch_" + r.table();
        try (Statement st = listener.createStatement()) { st.execute("listen " + channel); }
        try (PreparedStatement ps = sender.prepareStatement("select pg_notify(?, ?)")) {
          ps.setString(1, channel);
          ps.setString(2, "payload é");
          ps.executeQuery().close();
        }
        PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(20_000);
        if (got == null || got.length == 0) return "no notification";
        return got[0].getName() .equals(channel) ? got[0].getParameter() : "wrong channel " + got[0].getName();
      }
    });
    CHECKS.put("prepared reuse", r -> {
      try (Connection c = connect(r); PreparedStatement ps = c.prepareStatement("select ?::int * 2")) {
        long sum = 0;
        for (int i = 1; i <= 10; i++) { // past prepareThreshold (5): a named server-side statement
          ps.setInt(1, i);
          try (ResultSet rs = ps.executeQuery()) { rs.next(); sum += rs.getLong(1); }
        }
        return sum + " server-prepared " + ps.unwrap(PGStatement.class).isUseServerPrepare();
      }
    });
    CHECKS.put("cancel", r -> {
      try (Connection c = connect(r); Statement st = c.createStatement()) {
        List<String> seen = new ArrayList<>();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        timer.schedule(() -> { try { st.cancel(); } catch (SQLException e) { /* reported by the query */ } }, 1, TimeUnit.SECONDS);
        try { st.execute("select pg_sleep(30)"); seen.add("not cancelled"); } catch (SQLException e) { seen.add("cancel " + state(e)); }
        timer.shutdown();
        st.setQueryTimeout(1);
        try { st.execute("select pg_sleep(30)"); seen.add("no timeout"); } catch (SQLException e) { seen.add("query timeout " + state(e)); }
        st.setQueryTimeout(0);
        seen.add("then " + one(c, "select 1"));
        return String.join(", ", seen);
      }
    });
    CHECKS.put("pipelining", r -> {
      // A JDBC batch goes out as one pipeline: 10,000 parameterized inserts.
      try (Connection c = connect(r); PreparedStatement ps = c.prepareStatement("insert into " + r.table() + " (id, v) values (?, ?)")) {
        for (int i = 10_001; i <= 20_000; i++) { ps.setInt(1, i); ps.setString(2, "batched é"); ps.addBatch(); }
        int n = 0;
        try {
          for (int k : ps.executeBatch()) n += k;
        } catch (SQLException e) { return state(e); }
        return "batched rows " + n;
      }
    });
    CHECKS.put("pipelining after set_config", r -> {
      // Issue 15: a statement with non-ASCII text behind one that mentions set_config, in one pipeline.
      try (Connection c = connect(r); Statement st = c.createStatement()) {
        st.addBatch("insert into " + r.table() + " (id, v) select 3001, set_config('app.tenant', 'acme', false)");
        for (int i = 3002; i <= 3010; i++) st.addBatch("insert into " + r.table() + " (id, v) values (" + i + ", 'café')");
        int n = 0;
        try {
          for (int k : st.executeBatch()) n += k;
        } catch (SQLException e) { return state(e); }
        return "batched rows " + n;
      }
    });
    CHECKS.put("50 connections", r -> {
      ExecutorService pool = Executors.newFixedThreadPool(50);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<String>> all = new ArrayList<>();
      for (int i = 0; i < 50; i++) all.add(pool.submit(() -> { go.await(); try (Connection c = connect(r)) { return one(c, "select 1"); } }));
      go.countDown();
      int ok = 0;
      Set<String> errors = new TreeSet<>();
      for (Future<String> f : all) {
        try { if ("1".equals(f.get(120, TimeUnit.SECONDS))) ok++; } catch (ExecutionException e) { errors.add(causes(e.getCause())); }
      }
      pool.shutdownNow();
      return ok + " ok" + (errors.isEmpty() ? "" : " " + errors);
    });
    CHECKS.put("metadata", r -> {
      try (Connection c = connect(r); ResultSet rs = c.getMetaData().getColumns(null, null, r.table(), null)) {
        List<String> cols = new ArrayList<>();
        while (rs.next()) cols.add(rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME"));
        return String.join(", ", cols);
      }
    });
  }

  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) throws Exception {
    List<Run> runs = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[0]))) {
      if (line.isBlank()) continue;
      String[] f = line.split("\t", -1);
      runs.add(new Run(f[0], f[1], Integer.parseInt(f[2]), f[3], f[4], f[5], f[6], f[7], Boolean.parseBoolean(f[8])));
    }
    Set<String> only = args.length > 1 ? new HashSet<>(Arrays.asList(args[1].split(","))) : null;
    StringBuilder out = new StringBuilder("{");
    for (Run r : runs) {
      if (out.length() > 1) out.append(',');
      out.append(json(r.name())).append(":{");
      boolean first = true;
      for (Map.Entry<String, Check> e : CHECKS.entrySet()) {
        if (only != null && !only.contains(e.getKey())) continue;
        String outcome;
        try { outcome = e.getValue().run(r); } catch (SQLException ex) { outcome = "error " + state(ex) + ": " + ex.getMessage() + (ex.getCause() != null ? " (" + ex.getCause() + ")" : ""); } catch (Exception ex) { outcome = "error " + ex; }
        if (!first) out.append(',');
        first = false;
        out.append(json(e.getKey())).append(':').append(json(outcome));
      }
      out.append('}');
    }
    System.out.println(out.append('}'));
  }
}
