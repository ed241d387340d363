#pragma once
/// \file
/// Relations between models: foreign keys (gocp::foreign_key in a schema) and
/// many-to-many relations (gocp::many_to_many), used through repositories.
///
/// - `gocp::related(children, parent)`: the child repository with the foreign key bound —
///   a Repository<Child, ...> whose reads, creates and get_or_create are the parent's
///   children (relations/foreign_key.hpp);
/// - `gocp::parent_of(parents, child)`, `gocp::select_related(children, parents)`;
/// - `gocp::related(authors, book, gocp::model<Book>::authors)`: a RelatedSet with add,
///   remove, clear, set, reads through the join, get_or_create / update_or_create within
///   the relation (relations/many_to_many.hpp).
///
/// Deletes follow each foreign key's on_delete in the database; every row they cascade
/// to or set NULL in, and every link and unlink, is a RowChange of its own table.

#include "relations/foreign_key.hpp"
#include "relations/many_to_many.hpp"
