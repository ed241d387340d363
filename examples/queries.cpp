// The queries a service runs, on the tutorial's models (docs/library.hpp): shown verbatim
// in docs/tutorial.md ("Queries"), run by CTest (example.queries), exits 1 if any answer
// is not the expected one.
#include "library.hpp"

#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

int main() {
  using gocp::c;
  auto db = gocp::Database::open("sqlite:///queries.db");
  gocp::Repository<Author> authors{db};
  gocp::Repository<Book> books{db};
  authors.create_table();
  books.create_table();
  books.remove_all();
  authors.remove_all();

  // bulk_create: one multi-row INSERT per batch, all or nothing, keys filled in
  const auto people = authors.bulk_create({Author{0, "Leo Tolstoy", 0, "Russia"}, Author{0, "Jane Austen", 0, "UK"}});
  const std::int64_t leo = people[0].id, jane = people[1].id;
  books.bulk_create({Book{0, leo, "War and Peace", 900, 1869}, Book{0, leo, "Anna Karenina", 700, 1878},
                     Book{0, leo, "Hadji Murat", 50, std::nullopt}, Book{0, jane, "Emma", 300, 1815},
                     Book{0, jane, "Persuasion", 300, 1817}});

  // ordering and slicing: an author's two best sellers; NULLs sort as the largest value
  const auto best = books.filter(c(&Book::author_id) == leo).order_by(c(&Book::sales).desc()).limit(2).all();
  const auto newest = books.order_by(c(&Book::year).desc().nulls_last()).first();  // std::optional<Book>
  const auto oldest = books.order_by(c(&Book::year)).first();

  // values: only the columns asked for
  const std::vector<std::string> titles = books.filter(c(&Book::author_id) == jane).values_list(&Book::title);
  const std::vector<std::tuple<std::string, int>> sales =
      books.order_by(c(&Book::title)).limit(2).values(&Book::title, &Book::sales);
  const std::vector<int> distinct_sales = books.distinct().order_by(c(&Book::sales)).values_list(&Book::sales);

  // aggregates, typed from the members (a SUM over no row is std::nullopt)
  const auto [n, total, top] = books.aggregate(gocp::count(), gocp::sum(&Book::sales), gocp::max(&Book::sales));
  const auto per_author = books.group_by(&Book::author_id)
                              .aggregate(gocp::count(), gocp::sum(&Book::sales))
                              .order_by(gocp::desc(gocp::sum(&Book::sales)))
                              .all();  // std::vector<std::tuple<std::int64_t, std::int64_t, std::optional<std::int64_t>>>

  // conditions across the foreign key, as subqueries
  const auto russian_books = books.filter(c(&Book::author_id).in(authors.filter(c(&Author::country) == "Russia")));
  const auto authors_of_hits = authors.filter(c(&Author::id).in(books.filter(c(&Book::sales) > 500), &Book::author_id));

  // streaming: one row at a time, one connection held while the loop runs
  int streamed = 0;
  for (const Book& b : books.order_by(c(&Book::id)).iterate()) streamed += b.sales > 0;

  // row locks, inside a transaction (FOR UPDATE on PostgreSQL)
  const int locked = db.atomic([&] { return static_cast<int>(books.filter(c(&Book::sales) < 100).select_for_update().all().size()); });

  const bool ok = best.size() == 2 && best[0].title == "War and Peace" && best[1].title == "Anna Karenina" &&
                  newest && newest->title == "Anna Karenina" && oldest && oldest->title == "Emma" &&
                  titles == std::vector<std::string>{"Emma", "Persuasion"} &&
                  sales == std::vector<std::tuple<std::string, int>>{{"Anna Karenina", 700}, {"Emma", 300}} &&
                  distinct_sales == std::vector<int>{50, 300, 700, 900} && n == 5 && total == 2250 && top == 900 &&
                  per_author.size() == 2 && std::get<0>(per_author[0]) == leo && std::get<2>(per_author[0]) == 1650 &&
                  russian_books.count() == 3 && authors_of_hits.values_list(&Author::name) ==
                                                    std::vector<std::string>{"Leo Tolstoy"} &&
                  streamed == 5 && locked == 1;
  std::printf("best: %s; newest: %s; total sales %lld over %lld books; %s\n", best[0].title.c_str(),
              newest ? newest->title.c_str() : "-", static_cast<long long>(total.value_or(0)),
              static_cast<long long>(n), ok ? "ok" : "UNEXPECTED");
  return ok ? 0 : 1;
}
