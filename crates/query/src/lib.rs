//! OData query options ($filter, $select, $orderby, $top, $skiptoken, $count, $search) compiled against the schema into store plans.
